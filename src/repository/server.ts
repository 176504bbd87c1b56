// `repo serve`: a static HTTP server for a repository tree (GET/HEAD), with an optional token-guarded PUT upload.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseAddress } from '../common/address.js';
import { WorkerAdminError } from '../common/errors.js';

interface RepositoryServerOptions {
  dir: string;
  /** HOST:PORT (port 0: any free port); default 127.0.0.1:8070. */
  listen?: string;
  /** When set, PUT with `Authorization: Bearer TOKEN` writes files. */
  uploadToken?: string;
  /** Largest accepted upload (default 100 MiB). */
  maxUploadBytes?: number;
}

export interface RepositoryServer {
  /** Base URL ending with `/`. */
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { yaml: 'application/yaml; charset=utf-8', zip: 'application/zip' };
const UPLOADABLE_RE = /\.(yaml|zip)$/;

/** Serves `dir` over HTTP; resolves once listening. */
export async function startRepositoryServer(opts: RepositoryServerOptions): Promise<RepositoryServer> {
  const address = parseAddress(opts.listen ?? '127.0.0.1:8070');
  if (address.kind !== 'tcp') throw new WorkerAdminError('ADDRESS_INVALID', `repository listen address ${opts.listen}: must be HOST:PORT`);
  const root = await realpath(opts.dir).catch((error: unknown) => {
    throw new WorkerAdminError('NOT_FOUND', `repository directory ${opts.dir} does not exist`, { cause: error });
  });
  const tokenHash = opts.uploadToken === undefined ? undefined : sha(opts.uploadToken);
  const maxUpload = opts.maxUploadBytes ?? 100 * 1024 * 1024;
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
    if (req.method === 'PUT') return upload(req, res, segments);
    res.setHeader('Allow', tokenHash ? 'GET, HEAD, PUT' : 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }

  async function serveFile(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    const file = await insideRoot(join(root, ...segments));
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) return send(res, 404, 'not found\n');
    res.writeHead(200, { 'Content-Length': info.size, 'Content-Type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream' });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(createReadStream(file), res);
  }

  async function upload(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    if (!tokenHash) return send(res, 405, 'uploads are disabled (start with --upload-token-file)\n');
    const auth = req.headers.authorization ?? '';
    const given = auth.startsWith('Bearer ') ? sha(auth.slice(7)) : Buffer.alloc(32);
    if (!timingSafeEqual(given, tokenHash) || !auth.startsWith('Bearer ')) return send(res, 401, 'bad or missing token\n');
    if (segments.length === 0 || !UPLOADABLE_RE.test(segments[segments.length - 1]!)) return send(res, 400, 'only .yaml and .zip files can be uploaded\n');
    const target = join(root, ...segments);
    // Check the deepest existing folder first, so that mkdir never creates anything through a symlink out of the root.
    let existing = dirname(target);
    while (!(await stat(existing).catch(() => null))) existing = dirname(existing);
    if (!(await insideRoot(existing))) return send(res, 404, 'not found\n');
    await mkdir(dirname(target), { recursive: true });
    // The parent must still resolve inside the root (no symlinked folder leading out).
    const parent = await insideRoot(dirname(target));
    if (!parent) return send(res, 404, 'not found\n');
    const temp = join(parent, `.upload-${randomBytes(6).toString('hex')}`);
    try {
      let bytes = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _e, done) {
          bytes += chunk.length;
          done(bytes > maxUpload ? new Error(`upload over ${maxUpload} bytes`) : null, chunk);
        },
      });
      await pipeline(req, cap, createWriteStream(temp, { mode: 0o644 }));
      const fd = await open(temp, 'r');
      await fd.sync().finally(() => fd.close());
      await rename(temp, join(parent, segments[segments.length - 1]!));
    } catch (error) {
      await rm(temp, { force: true });
      return send(res, 400, `upload failed: ${(error as Error).message}\n`);
    }
    return send(res, 201, 'stored\n');
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

function sha(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
