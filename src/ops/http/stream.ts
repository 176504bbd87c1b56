// A streaming GET of the ops API (for `worker-admin logs --follow`): JSON lines handed over one at a time as they arrive.
import { request, type ClientRequest } from 'node:http';
import { parseAddress } from '../../common/address.js';
import { WorkerAdminError } from '../../common/errors.js';
import { readLines } from '../../process/lines.js';

// A JSON line carries a cut output line (limits.lineBytes) with its escapes: far below this.
const MAX_WIRE_LINE = 4 * 1024 * 1024;

/** GETs `path` and calls `onLine` per line of the body; resolves when the body ends. A non-2xx answer throws with its detail. */
export function streamOpsLines(address: string, path: string, opts: { token?: string; onLine: (line: string) => void; signal?: AbortSignal }): Promise<void> {
  const target = parseAddress(address);
  const where = target.kind === 'unix' ? { socketPath: target.path } : { host: target.host.replace(/^\[|\]$/g, ''), port: target.port };
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request({
      ...where, path, method: 'GET',
      headers: { accept: 'application/x-ndjson', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      ...(opts.signal ? { signal: opts.signal } : {}),
    }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let detail = text.slice(0, 300);
          try {
            const given = (JSON.parse(text) as { detail?: unknown }).detail;
            if (typeof given === 'string') detail = given;
          } catch {
            // not JSON: the text as is
          }
          const code = status === 401 ? 'AUTH_INVALID' : status === 404 ? 'NOT_FOUND' : status === 400 ? 'PAYLOAD_INVALID' : 'INTERNAL';
          reject(new WorkerAdminError(code, `ops API ${address} answered ${status}: ${detail}`, { details: { httpStatus: status } }));
        });
        return;
      }
      void readLines(res, (line) => {
        if (line !== '') opts.onLine(line);
      }, { maxLineBytes: MAX_WIRE_LINE }).then(() => resolve());
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (opts.signal?.aborted) return resolve();
      reject(new WorkerAdminError('ADDRESS_INVALID', `cannot reach the ops API at ${address}: ${error.code ?? error.message} (is the admin running? pass --ops ADDR or --state-dir DIR)`, { cause: error }));
    });
    req.end();
  });
}
