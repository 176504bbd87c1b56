// `worker-admin send COMMAND [JSON|@FILE|-]`: one command (pinned by --product, --target, --major; replayed by --uuid),
// its Reply printed as one JSON object; exit 0 only on SUCCESS.
import { readFile } from 'node:fs/promises';
import { WorkerAdminError } from '../common/errors.js';
import { DEFAULT_STATE_DIR, credentialsPath, readCredentials } from '../common/credentials.js';
import { parseDuration } from '../common/units.js';
import { parseJsonOrNull } from '../sdk/messages.js';
import { DEFAULT_ADMIN_COMMAND_TIMEOUT_MS, DEFAULT_COMMAND_TIMEOUT_MS, createRouterRpc } from '../sdk/rpc.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'send COMMAND [JSON|@FILE|-] [--product TYPE/PRODUCT] [--target ID] [--major N] [--uuid UUID] [--timeout 30s] [--router ADDR] [--token TOKEN] [--state-dir DIR]';

/** Where a client command talks to and with which token, resolved once from flags, environment and credentials.json. */
interface ClientTarget {
  router: string;
  token: string;
}

/** Resolves router and token: flags, then environment, then {stateDir}/credentials.json (admin token for ADMIN_*). */
export async function resolveClientTarget(flags: { router?: string; token?: string; stateDir?: string }, admin: boolean): Promise<ClientTarget> {
  const stateDir = flags.stateDir ?? DEFAULT_STATE_DIR;
  const env = process.env;
  const envToken = admin ? env['WORKER_ADMIN_TOKEN'] : env['WORKER_ADMIN_CLIENT_TOKEN'] || env['WORKER_ADMIN_TOKEN'];
  const needFile = !flags.router || !(flags.token || envToken);
  const creds = needFile ? await readCredentials(stateDir) : undefined;
  const fileToken = admin ? creds?.adminToken : creds?.clientToken || creds?.adminToken;
  const token = flags.token || envToken || fileToken;
  if (!token) {
    const which = admin ? 'WORKER_ADMIN_TOKEN' : 'WORKER_ADMIN_CLIENT_TOKEN or WORKER_ADMIN_TOKEN';
    throw new WorkerAdminError('AUTH_INVALID', `no ${admin ? 'admin' : 'client'} token: pass --token, set ${which}, or point --state-dir at a folder whose credentials.json has one (${credentialsPath(stateDir)} has none)`);
  }
  return { router: flags.router || creds?.router || `unix:${stateDir}/router.sock`, token };
}

/** The payload text: the argument itself, a file's content (@FILE) or stdin (-); none → {}. */
async function payloadText(arg: string | undefined): Promise<string> {
  if (arg === undefined) return '{}';
  if (arg === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  if (arg.startsWith('@')) {
    try {
      return await readFile(arg.slice(1), 'utf8');
    } catch (error) {
      throw new WorkerAdminError('PAYLOAD_INVALID', `cannot read the payload file ${arg.slice(1)}: ${(error as Error).message}`, { cause: error });
    }
  }
  return arg;
}

/** Runs `send`; the payload text goes to the router unparsed, so a bad JSON gets the router's INVALID reply. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    target: { type: 'string' }, product: { type: 'string' }, major: { type: 'string' }, uuid: { type: 'string' },
    timeout: { type: 'string' }, router: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const [command, payloadArg, ...extra] = positionals;
  if (!command || extra.length > 0) throw new UsageError(`send takes COMMAND and at most one JSON argument\nusage: worker-admin ${USAGE}`);
  const admin = command.startsWith('ADMIN_');
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const timeoutMs = str('timeout') === undefined ? (admin ? DEFAULT_ADMIN_COMMAND_TIMEOUT_MS : DEFAULT_COMMAND_TIMEOUT_MS) : parseDuration(str('timeout'), '--timeout');
  const flags: { router?: string; token?: string; stateDir?: string } = {};
  if (str('router') !== undefined) flags.router = str('router');
  if (str('token') !== undefined) flags.token = str('token');
  if (str('state-dir') !== undefined) flags.stateDir = str('state-dir');
  const major = str('major');
  if (major !== undefined && !/^(0|[1-9]\d*)$/.test(major)) throw new UsageError(`--major ${JSON.stringify(major)} must be a major version number, e.g. 1\nusage: worker-admin ${USAGE}`);
  const target = await resolveClientTarget(flags, admin);
  const payload = await payloadText(payloadArg);

  const rpc = createRouterRpc({ address: target.router, token: target.token });
  try {
    const reply = await rpc.sendCommand({
      command, payload, timeout_ms: timeoutMs, uuid: str('uuid') ?? '',
      target: str('target') ?? '', product: str('product') ?? '', major: major ?? '',
    });
    const out = { uuid: reply.uuid, status: reply.status, payload: parseJsonOrNull(reply.payload), error: reply.error, worker: reply.worker };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return reply.status === 'SUCCESS' ? 0 : 1;
  } finally {
    rpc.close();
  }
}
