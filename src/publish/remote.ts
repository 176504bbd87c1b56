// The HTTP side of publishing: GET a file with its ETag, PUT a file (optionally conditional), on node:http(s).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WorkerAdminError } from '../common/errors.js';
import { normalizeBaseUrl } from '../repository/paths.js';

/** A file as the repository serves it, or absent. */
export type RemoteFile = { status: 200; data: Buffer; etag: string | undefined } | { status: 404 };

/** What a PUT answered. */
export interface PutResult {
  status: number;
  /** The server's reason on a refusal (its text body). */
  text: string;
}

export interface PutOptions {
  /** Send only if the file still has this ETag (If-Match), or only if absent (`absent`: If-None-Match: *). */
  condition?: { etag: string } | 'absent';
  /** Bytes written so far, for a progress bar. */
  onProgress?: (sent: number, total: number) => void;
}

/** The narrow interface `publish` and `yank` use; tests run it against a real `repo serve`. */
export interface RemoteRepository {
  readonly url: string;
  get(path: string): Promise<RemoteFile>;
  put(path: string, data: Buffer, options?: PutOptions): Promise<PutResult>;
}

const CHUNK = 64 * 1024;

/** A remote repository at `url`; `token` goes as `Authorization: Bearer` on PUT. */
export function createRemoteRepository(url: string, opts: { token?: string | undefined; timeoutMs?: number } = {}): RemoteRepository {
  const base = normalizeBaseUrl(url);
  const timeoutMs = opts.timeoutMs ?? 30_000;

  function send(method: 'GET' | 'PUT', path: string, headers: Record<string, string>, body?: Buffer, onProgress?: PutOptions['onProgress']): Promise<{ res: IncomingMessage; data: Buffer }> {
    const target = new URL(path, base);
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(target, { method, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ res, data: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (error) => reject(new WorkerAdminError('REPOSITORY_ERROR', `${method} ${target.href}: ${error.message}`, { cause: error })));
      if (!body) return void req.end();
      // written in chunks, waiting for drain: the progress bar follows what the socket took
      let sent = 0;
      const next = (): void => {
        while (sent < body.length) {
          const chunk = body.subarray(sent, sent + CHUNK);
          sent += chunk.length;
          onProgress?.(sent, body.length);
          if (!req.write(chunk)) return void req.once('drain', next);
        }
        req.end();
      };
      next();
    });
  }

  return {
    url: base.href,
    async get(path) {
      const { res, data } = await send('GET', path, {});
      if (res.statusCode === 404) return { status: 404 };
      if (res.statusCode !== 200) throw new WorkerAdminError('REPOSITORY_ERROR', `GET ${new URL(path, base).href}: HTTP ${res.statusCode} ${data.toString('utf8').trim()}`);
      const etag = res.headers.etag;
      return { status: 200, data, etag: typeof etag === 'string' ? etag : undefined };
    },
    async put(path, data, options = {}) {
      const headers: Record<string, string> = { 'Content-Length': String(data.length), 'Content-Type': path.endsWith('.zip') ? 'application/zip' : 'application/yaml' };
      if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;
      if (options.condition === 'absent') headers['If-None-Match'] = '*';
      else if (options.condition) headers['If-Match'] = options.condition.etag;
      const { res, data: answer } = await send('PUT', path, headers, data, options.onProgress);
      return { status: res.statusCode ?? 0, text: answer.toString('utf8').trim() };
    },
  };
}
