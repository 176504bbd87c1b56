// `worker-admin repo serve DIR [--listen HOST:PORT] [--upload-token-file FILE]`: serves a repository over HTTP.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';
import { startRepositoryServer } from '../repository/server.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'repo serve DIR [--listen HOST:PORT] [--upload-token-file FILE]';

/** Runs `repo serve` until SIGINT/SIGTERM, then exits 0. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { listen: { type: 'string' }, 'upload-token-file': { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals[0] !== 'serve' || positionals.length !== 2) throw new UsageError(`expected: serve DIR\nusage: worker-admin ${USAGE}`);
  const tokenFile = values['upload-token-file'];
  let uploadToken: string | undefined;
  if (typeof tokenFile === 'string') {
    uploadToken = (await readFile(tokenFile, 'utf8')).trim();
    if (uploadToken.length < 16) throw new WorkerAdminError('AUTH_INVALID', `${tokenFile}: the upload token must be at least 16 characters`);
  }
  const listen = typeof values['listen'] === 'string' ? values['listen'] : undefined;
  const server = await startRepositoryServer({ dir: resolve(positionals[1]!), ...(listen ? { listen } : {}), ...(uploadToken ? { uploadToken } : {}) });
  process.stdout.write(`repository listening on ${server.url}\n`);
  const stop = new AbortController();
  await Promise.race([once(process, 'SIGINT', { signal: stop.signal }), once(process, 'SIGTERM', { signal: stop.signal })]);
  stop.abort();
  await server.close();
  return 0;
}
