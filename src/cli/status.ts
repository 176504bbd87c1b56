// `worker-admin status [--ops ADDR] [--token TOKEN] [--state-dir DIR]`: what the ops API says, as tables.
import { DEFAULT_STATE_DIR, readCredentials } from '../common/credentials.js';
import { isWorkerAdminError } from '../common/errors.js';
import { getOpsJson } from '../ops/http/client.js';
import { renderStatus, type StatusReport } from '../ops/status-table.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'status [--ops ADDR] [--token TOKEN] [--state-dir DIR]';
const DEFAULT_OPS = '127.0.0.1:8071';

/** The ops address: --ops, then WORKER_ADMIN_OPS, then credentials.json of the state dir, then the default. */
export async function resolveOps(flag: string | undefined, stateDir: string): Promise<string> {
  if (flag) return flag;
  const env = process.env['WORKER_ADMIN_OPS'];
  if (env) return env;
  return (await readCredentials(stateDir))?.ops || DEFAULT_OPS;
}

/** Prints the status tables; exit 0, or 1 when the ops API cannot be read. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { ops: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`status takes no arguments\nusage: worker-admin ${USAGE}`);
  const ops = await resolveOps(values['ops'] as string | undefined, (values['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR);
  // The read routes need no token; one given is sent anyway, for an ops API behind a proxy that asks for it.
  const token = (values['token'] as string | undefined) ?? process.env['WORKER_ADMIN_TOKEN'];
  const opts = token ? { token } : {};
  const status = await getOpsJson(ops, '/api/v1/status', opts) as StatusReport['status'];
  const updates = await getOpsJson(ops, '/api/v1/updates', opts).then(
    (body) => (body as { updates: StatusReport['updates'] }).updates,
    (error: unknown) => {
      if (isWorkerAdminError(error, 'NOT_FOUND')) return undefined;
      throw error;
    },
  );
  process.stdout.write(renderStatus({ ops, status, updates }));
  return 0;
}
