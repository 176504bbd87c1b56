// A second, real ops server on a test stack's admin whose fleet source is the test's: the page and `fleet status`
// render a fleet status built in the test, no engines needed.
import type { FleetStatus } from '../../src/fleet/host.js';
import { parseAddress } from '../../src/common/address.js';
import { createLogger } from '../../src/common/log.js';
import { startOps, type RunningOps } from '../../src/ops/ops.js';
import type { OpsStack } from './helpers.js';

export interface FleetOps {
  ops: RunningOps;
  /** http://HOST:PORT */
  base: string;
  /** What GET /api/v1/fleet answers next: undefined = not a fleet host. */
  fleet: FleetStatus | undefined;
}

export async function startFleetOps(t: OpsStack): Promise<FleetOps> {
  const admin = t.stack.admin;
  const holder = { fleet: undefined as FleetStatus | undefined };
  const ops = await startOps({
    admin, config: admin.config, adminToken: t.token, listen: parseAddress('127.0.0.1:0'),
    logger: createLogger('test', { level: 'silent' }),
    // a copy each time, as JSON over HTTP would give: the test may change its object meanwhile
    fleet: () => Promise.resolve(holder.fleet === undefined ? undefined : structuredClone(holder.fleet)),
  });
  return {
    ops, base: `http://${ops.address}`,
    get fleet() {
      return holder.fleet;
    },
    set fleet(value) {
      holder.fleet = value;
    },
  };
}
