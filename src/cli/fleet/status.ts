// `worker-admin fleet status [--ops ADDR] [--token TOKEN] [--state-dir DIR] [--json]`: GET /api/v1/fleet as a table.
import { DEFAULT_STATE_DIR } from '../../common/credentials.js';
import { isWorkerAdminError } from '../../common/errors.js';
import type { FleetStatus } from '../../fleet/host.js';
import { renderFleetStatus } from '../../ops/fleet-table.js';
import { getOpsJson } from '../../ops/http/client.js';
import { parseCommandLine, UsageError } from '../args.js';
import { resolveOps } from '../status.js';

export const USAGE = 'fleet status [--ops ADDR] [--token TOKEN] [--state-dir DIR] [--json]';

/** Prints what the host's ops API says of the fleet; exit 0, or 1 with the reason (not a fleet host, unreachable). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    ops: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' }, json: { type: 'boolean' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`fleet status takes no arguments\nusage: worker-admin ${USAGE}`);
  const ops = await resolveOps(values['ops'] as string | undefined, (values['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR);
  const token = (values['token'] as string | undefined) ?? process.env['WORKER_ADMIN_TOKEN'];
  let status: FleetStatus;
  try {
    status = await getOpsJson(ops, '/api/v1/fleet', token ? { token } : {}) as FleetStatus;
  } catch (error) {
    if (!isWorkerAdminError(error, 'NOT_FOUND')) throw error;
    process.stderr.write(`worker-admin fleet status: the host whose ops API is ${ops} is not a fleet host (no fleet: section in its configuration)\n`);
    return 1;
  }
  process.stdout.write(values['json'] ? `${JSON.stringify(status, null, 2)}\n` : renderFleetStatus(ops, status));
  return 0;
}
