// A small GET client of the ops API over TCP or a unix socket (for `worker-admin status`).
import { request } from 'node:http';
import { parseAddress } from '../../common/address.js';
import { WorkerAdminError } from '../../common/errors.js';

/** GETs `path` from the ops API at `address` and parses the JSON body; an unreachable API or a non-2xx answer throws, named. */
export function getOpsJson(address: string, path: string, opts: { token?: string; timeoutMs?: number } = {}): Promise<unknown> {
  const target = parseAddress(address);
  const where = target.kind === 'unix' ? { socketPath: target.path } : { host: target.host.replace(/^\[|\]$/g, ''), port: target.port };
  return new Promise((resolve, reject) => {
    const req = request({
      ...where, path, method: 'GET', timeout: opts.timeoutMs ?? 10_000,
      headers: { accept: 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) {
          reject(new WorkerAdminError(res.statusCode === 404 ? 'NOT_FOUND' : 'INTERNAL', `ops API ${address}${path} answered ${res.statusCode}: ${text.slice(0, 200)}`, { details: { httpStatus: res.statusCode } }));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(new WorkerAdminError('INTERNAL', `ops API ${address}${path} sent a body that is not JSON`, { cause: error }));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      reject(new WorkerAdminError('ADDRESS_INVALID', `cannot reach the ops API at ${address}: ${error.code ?? error.message} (is the admin running? pass --ops ADDR or --state-dir DIR)`, { cause: error }));
    });
    req.end();
  });
}
