// `worker-admin router [--listen ADDR] [--state-dir DIR] [--token-file FILE] [--insecure]`: the router alone.
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { DEFAULT_STATE_DIR } from '../common/credentials.js';
import { loadRouterTokens } from '../router/auth.js';
import { readFile } from 'node:fs/promises';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { startRouter, type RouterTls } from '../router/server.js';
import { parseCommandLine } from './args.js';

const USAGE = 'router [--listen ADDR] [--state-dir DIR] [--token-file FILE] [--insecure] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]';

const HELP = `usage: worker-admin ${USAGE}

  --listen ADDR      unix:PATH or HOST:PORT (port 0: any free port); default unix:{state-dir}/router.sock
  --state-dir DIR    configuration store and default socket; default ${DEFAULT_STATE_DIR}
  --token-file FILE  JSON {"adminToken","clientToken"}; tokens are read from WORKER_ADMIN_TOKEN /
                     WORKER_ADMIN_CLIENT_TOKEN first, then this file, then {state-dir}/credentials.json
  --insecure         allow a non-loopback TCP address without TLS (logged as a warning)
  --tls-cert FILE    TLS certificate (PEM) for a TCP address; with --tls-key
  --tls-key FILE     its private key (PEM)
  --tls-ca FILE      CA (PEM) of client certificates: mutual TLS, a client without one it signed is refused

Prints "router listening on ADDR" once bound; SIGINT/SIGTERM close it and exit 0.
`;

/** Resolves on the first SIGINT or SIGTERM; a second one while closing exits at once. */
async function firstSignal(): Promise<NodeJS.Signals> {
  const controller = new AbortController();
  const signal = await Promise.race([
    once(process, 'SIGINT', { signal: controller.signal }).then(() => 'SIGINT' as const),
    once(process, 'SIGTERM', { signal: controller.signal }).then(() => 'SIGTERM' as const),
  ]);
  controller.abort();
  const again = (): never => process.exit(130);
  process.once('SIGINT', again).once('SIGTERM', again);
  return signal;
}

/** The TLS files as PEM text; --tls-cert and --tls-key go together. */
async function readTls(cert: string | undefined, key: string | undefined, ca: string | undefined): Promise<RouterTls | undefined> {
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new WorkerAdminError('CONFIG_INVALID', 'router TLS needs both --tls-cert and --tls-key');
  const read = async (file: string, flag: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new WorkerAdminError('CONFIG_INVALID', `${flag} ${file}: ${errorMessage(error)}`, { cause: error });
    }
  };
  return { cert: await read(cert, '--tls-cert'), key: await read(key, '--tls-key'), ...(ca === undefined ? {} : { ca: await read(ca, '--tls-ca') }) };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    listen: { type: 'string' },
    'state-dir': { type: 'string' },
    'token-file': { type: 'string' },
    insecure: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
  }, USAGE);
  if (values['help'] === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const stateDir = resolve((values['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR);
  const listen = (values['listen'] as string | undefined) ?? `unix:${join(stateDir, 'router.sock')}`;
  const tokenFile = values['token-file'] as string | undefined;
  const tokens = await loadRouterTokens({ env: process.env, stateDir, ...(tokenFile === undefined ? {} : { tokenFile }) });
  const tls = await readTls(values['tls-cert'] as string | undefined, values['tls-key'] as string | undefined, values['tls-ca'] as string | undefined);
  const router = await startRouter({ listen, stateDir, ...tokens, insecure: values['insecure'] === true, ...(tls ? { tls } : {}) });
  process.stdout.write(`router listening on ${router.address}\n`);
  await firstSignal();
  await router.close();
  return 0;
}
