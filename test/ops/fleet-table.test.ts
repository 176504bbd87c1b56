// `worker-admin fleet status` as a user runs it (node bin/worker-admin.js) against a real ops server whose fleet source
// returns a status built here, and the table renderer on the states a fleet goes through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetStatus } from '../../src/fleet/host.js';
import { renderFleetStatus } from '../../src/ops/fleet-table.js';
import { cliRunner } from '../helpers/cli.js';
import { echoRollout, fleetStatus } from './fleet-fixture.js';
import { startFleetOps, type FleetOps } from './fleet-ops.js';
import { startOpsStack, type OpsStack } from './helpers.js';

let t: OpsStack;
let f: FleetOps;
// TZ=UTC (testEnv): the times printed are the fixture's, whatever the machine's zone
const runner = cliRunner(() => t.stateDir);
const cli = (args: string[]) => runner.run(args);

beforeAll(async () => {
  t = await startOpsStack();
  f = await startFleetOps(t);
});
afterAll(async () => {
  runner.kill();
  await f?.ops.close();
  await t?.close();
});

/** The fleet status as it was before the coordinator: no coordinator, cordon, capacity, desired or rollouts. */
function partOne(): FleetStatus {
  const { coordinator: _c, desired: _d, rollouts: _r, ...rest } = fleetStatus();
  return { ...rest, hosts: rest.hosts.map(({ cordon: _x, capacity: _y, ...h }) => h) };
}

describe('worker-admin fleet status', () => {
  it('prints the coordinator, hosts with cordons and capacity, desired vs running with what is missing, and the rollout batch by batch', async () => {
    f.fleet = fleetStatus();
    const ops = f.ops.address;
    const run = await cli(['fleet', 'status', '--ops', ops]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`fleet seen from host-a (LIVE, incarnation 694d8f2a11c0) · ops ${ops}
engines  nats connected · etcd reachable
coordinator  host-b since 2030-01-01 10:00:00

HOST    STATUS                     INCARNATION   LABELS              CAPACITY  ROUTER           OPS             VERSION  INSTANCES
host-a  live                       694d8f2a11c0  zone=eu-1           -         10.0.0.11:50051  10.0.0.11:8071  0.1.0    utils-echo-1-1@1.2 READY, utils-echo-1-2@1.2 READY, utils-echo-1-5@1.1 READY
host-b  live coordinator draining  694d8f2a11d7  zone=eu-1,disk=ssd  4         10.0.0.12:50051  10.0.0.12:8071  0.1.0    utils-echo-1-3@1.2 STARTING, utils-echo-1-3@1.1 READY, utils-echo-1-4@1.1 READY
host-c  lost                       694d8f2a11e3  zone=eu-2           2         10.0.0.13:50051  10.0.0.13:8071  0.1.0    -

3 host(s): 2 live, 1 lost, leaving or silent; 1 cordoned or draining

DESIRED
PRODUCT     INSTANCES  RUNNING  VERSIONS      MISSING
utils/echo  6          5        1.1×3, 1.2×2  1 of 6 utils/echo: no live host matches {zone: eu-1} with room
mail/smtp   2          0        -             2 of 2 mail/smtp: no live host matches {zone: eu-2}

ROLLOUTS
PRODUCT     FROM  TO   STATE        BATCH             STARTED              ENDED                REASON
utils/echo  1.1   1.2  BATCH        batch 1 (2 of 3)  2030-01-01 10:01:00  -                    -
mail/smtp   2.0   2.1  ROLLED_BACK  2 batch(es)       2030-01-01 09:00:00  2030-01-01 09:10:00  mail-smtp-2-1 FAILED: CONFIG_INVALID: port on host-c

rollout r-echo-12: utils/echo 1.1 → 1.2, BATCH, batch 1 (2 of 3)
  BATCH    PROGRESS     INSTANCES
  canary   done         utils-echo-1-1 on host-a: healthy
  batch 1  in progress  utils-echo-1-2 on host-a: healthy, utils-echo-1-3 on host-b: moving
  batch 2  waiting      utils-echo-1-4 on host-b: pending, utils-echo-1-5 on host-a: pending

COUNTERS
NAME           VALUE
inboundServed  12
outboundSent   40
`);
    const json = await cli(['fleet', 'status', '--ops', ops, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(fleetStatus());
  });

  it('exits 1 when the ops API is not a fleet host', async () => {
    f.fleet = undefined;
    const run = await cli(['fleet', 'status', '--ops', f.ops.address]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`the host whose ops API is ${f.ops.address} is not a fleet host`);
  });
});

describe('fleet status table', () => {
  it('a status without the coordinator, desired state and rollouts prints none of their sections', () => {
    const text = renderFleetStatus('ops', partOne());
    expect(text).not.toMatch(/coordinator|DESIRED|ROLLOUTS|cordoned|draining/);
    expect(text).toMatch(/^host-b {2}live {4}694d8f2a11d7 {2}zone=eu-1,disk=ssd {2}- {9}10\.0\.0\.12:50051/m);
    expect(text).toContain('3 host(s): 2 live, 1 lost, leaving or silent\n');
  });

  it('a fenced host, no coordinator, nothing desired and no rollout yet', () => {
    const status = { ...fleetStatus(), state: 'FENCED' as const, coordinator: null, desired: [], rollouts: [] };
    status.hosts[1]!.cordon = 'cordon';
    const text = renderFleetStatus('ops', status);
    expect(text).toContain('\ncoordinator  none elected\n');
    expect(text).toMatch(/^host-a {2}fenced {4}/m);
    expect(text).toMatch(/^host-b {2}live cordoned {2}/m);
    expect(text).toContain('DESIRED\n  (no desired state)\n');
    expect(text).toContain('ROLLOUTS\n  (no rollout yet)\n');
    expect(renderFleetStatus('ops', { ...status, state: 'CUT_OFF' })).toMatch(/^host-a {2}cut-off {3}/m);
  });

  it('says which batch a paused, rolling back or pending rollout is at', () => {
    const progress = (r: ReturnType<typeof echoRollout>): string[] => {
      const text = renderFleetStatus('ops', { ...fleetStatus(), rollouts: [r] });
      return [...text.matchAll(/^ {2}(canary|batch \d) +(\S+(?: \S+)?) {2,}/gm)].map((m) => `${m[1]} ${m[2]}`);
    };
    expect(progress({ ...echoRollout(), state: 'PAUSED', pausedFrom: 'BATCH' })).toEqual(['canary done', 'batch 1 paused', 'batch 2 waiting']);
    expect(progress({ ...echoRollout(), state: 'ROLLING_BACK', reason: 'utils-echo-1-3 FAILED', host: 'host-b' })).toEqual(['canary done', 'batch 1 rolling back', 'batch 2 waiting']);
    expect(progress({ ...echoRollout(), state: 'PENDING', batch: 0 })).toEqual(['canary waiting', 'batch 1 waiting', 'batch 2 waiting']);
    // without canaries the first batch is batch 1
    const plain = { ...echoRollout(), canary: 0, batches: [['utils-echo-1-1', 'utils-echo-1-2'], ['utils-echo-1-3']], batch: 0, state: 'BATCH' as const };
    const text = renderFleetStatus('ops', { ...fleetStatus(), rollouts: [plain] });
    expect(text).toMatch(/^utils\/echo {2}1\.1 {3}1\.2 {2}BATCH {2}batch 1 \(1 of 2\)/m);
    expect(text).toContain('rollout r-echo-12: utils/echo 1.1 → 1.2, BATCH, batch 1 (1 of 2)\n');
  });
});
