// `repo serve`: a static HTTP server for a repository tree (GET/HEAD), with an optional token-guarded PUT upload.
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseAddress } from '../common/address.js';
import { WorkerAdminError } from '../common/errors.js';
import { createUploadHandler, etagOf, type UploadLimits } from './upload.js';

export interface RepositoryServerOptions {
  dir: string;
  /** HOST:PORT (port 0: any free port); default 127.0.0.1:8070. */
  listen?: string;
  /** When set, PUT with `Authorization: Bearer TOKEN` writes files (see upload.ts). */
  uploadToken?: string;
  /** Largest accepted zip and yaml uploads (defaults: the package and yaml limits). */
  uploadLimits?: Partial<UploadLimits>;
}

export interface RepositoryServer {
  /** Base URL ending with `/`. */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { yaml: 'application/yaml; charset=utf-8', zip: 'application/zip' };

/** Serves `dir` over HTTP; resolves once listening. */
export async function startRepositoryServer(opts: RepositoryServerOptions): Promise<RepositoryServer> {
  const address = parseAddress(opts.listen ?? '127.0.0.1:8070');
  if (address.kind !== 'tcp') throw new WorkerAdminError('ADDRESS_INVALID', `repository listen address ${opts.listen}: must be HOST:PORT`);
  const root = await realpath(opts.dir).catch((error: unknown) => {
    throw new WorkerAdminError('NOT_FOUND', `repository directory ${opts.dir} does not exist`, { cause: error });
  });
  const upload = opts.uploadToken === undefined ? undefined : createUploadHandler({ root, token: opts.uploadToken, ...(opts.uploadLimits ? { limits: opts.uploadLimits } : {}) });
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${(error as Error).message}\n`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const segments = safeSegments(req.url ?? '');
    if (segments === null) return send(res, 400, 'bad path\n');
    if (req.method === 'GET' || req.method === 'HEAD') return serveFile(req, res, segments);
    if (req.method === 'PUT' && upload) return upload(req, res, segments);
    if (req.method === 'PUT') return send(res, 405, 'uploads are disabled (start with --upload-token-file)\n');
    res.setHeader('Allow', upload ? 'GET, HEAD, PUT' : 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    const file = await insideRoot(join(root, ...segments));
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) return send(res, 404, 'not found\n');
    const type = TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
    if (file.endsWith('.yaml')) {
      // yaml files are small and carry an ETag: a publisher updates versions.yaml with If-Match on it
      const data = await readFile(file);
      res.writeHead(200, { 'Content-Length': data.length, 'Content-Type': type, ETag: etagOf(data), 'Cache-Control': 'no-cache' });
      return void res.end(req.method === 'HEAD' ? undefined : data);
    }
    res.writeHead(200, { 'Content-Length': info.size, 'Content-Type': type });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(createReadStream(file), res);
  }

  // The real path of `path` when it exists and stays inside the root; else null.
  async function insideRoot(path: string): Promise<string | null> {
    const real = await realpath(path).catch(() => null);
    return real !== null && (real === root || real.startsWith(root + sep)) ? real : null;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host.replace(/^\[|\]$/g, ''), () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound.port}/`,
    close: () => (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    })),
  };
}

/** The decoded path segments of a request target, or null when it tries to leave the tree. */
export function safeSegments(target: string): string[] | null {
  const raw = target.split(/[?#]/, 1)[0] ?? '';
  if (!raw.startsWith('/')) return null;
  const out: string[] = [];
  const parts = raw.slice(1).split('/');
  for (const [i, part] of parts.entries()) {
    let seg: string;
    try {
      seg = decodeURIComponent(part);
    } catch {
      return null;
    }
    if (seg === '' && i === parts.length - 1) continue;
    if (seg === '' || seg === '.' || seg === '..' || /[/\\\0]/.test(seg) || /^[A-Za-z]:/.test(seg)) return null;
    out.push(seg);
  }
  return out;
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

