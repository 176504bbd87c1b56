// Reading response bodies under a size cap and an idle timeout: into memory, or to a file while hashing.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WorkerAdminError } from '../common/errors.js';
import { HttpNetworkError } from './http.js';

/** Progress of a download: bytes so far and the announced total when known. */
export type Progress = (bytes: number, total: number | undefined) => void;

/** A transform that counts bytes, refuses more than `maxBytes`, fails after `idleMs` without data, and reports progress. */
function guard(where: string, maxBytes: number, idleMs: number, onData?: (bytes: number) => void): Transform {
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const t: Transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done(new WorkerAdminError('LIMIT_EXCEEDED', `${where}: body is over the limit of ${maxBytes} bytes`));
        return;
      }
      arm();
      onData?.(bytes);
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(error, done) {
      clearTimeout(timer);
      done(error);
    },
  });
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => t.destroy(new HttpNetworkError(`${where}: no data for ${idleMs} ms`)), idleMs);
    timer.unref();
  };
  arm();
  return t;
}

/** The whole body as a Buffer, at most `maxBytes`. */
export async function readBody(body: Readable, where: string, opts: { maxBytes: number; idleMs: number; signal: AbortSignal }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const collect = new Transform({
    transform(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  await pipeline(body, guard(where, opts.maxBytes, opts.idleMs), collect, { signal: opts.signal });
  return Buffer.concat(chunks);
}

/** Streams the body into `dest` (created or truncated) while hashing; returns the sha256 hex and the byte count. */
export async function bodyToFile(
  body: Readable,
  dest: string,
  where: string,
  opts: { maxBytes: number; idleMs: number; signal: AbortSignal; total?: number | undefined; onProgress?: Progress | undefined },
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const progress = opts.onProgress ? (n: number): void => opts.onProgress?.(n, opts.total) : undefined;
  await pipeline(body, guard(where, opts.maxBytes, opts.idleMs, progress), hashing, createWriteStream(dest, { mode: 0o600 }), { signal: opts.signal });
  return { sha256: hash.digest('hex'), bytes };
}
