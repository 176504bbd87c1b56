// A fleet host and its policies, in process on real nats-server and etcd with a hand-driven clock (docs/fleet.md,
// policies): the name registered in etcd, the coordinator's tick run once with uuid POLICY-{tick ms}, and the same tick
// seen again after a restart (the run not recorded yet) a replay through the fleet-wide uuid claim: the worker ran once.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/common/scheduler.js';
import { fleetKeys } from '../../src/fleet/keys.js';
import type { PolicyRegistration } from '../../src/fleet/policies/tick.js';
import type { PolicyTick } from '../../src/ops/policies/ports.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import type { RunningStack } from '../../src/up/stack.js';
import { ManualClock } from '../helpers/clock.js';
import { startBareStack } from '../helpers/stack.js';
import { eventually, http } from '../ops/helpers.js';
import { fleetSkipReason, startFleetEngines, until, type FleetEngines } from './engines.js';
import { NIGHTLY_POLICY, type PolicyRun } from './policy-fixture.js';

const skip = await fleetSkipReason();

/** 2030-01-01 local time, `m` minutes and `s` seconds past midnight (schedules are local time). */
const at = (m: number, s = 0): number => new Date(2030, 0, 1, 0, m, s).getTime();


describe.skipIf(skip !== undefined)('a fleet host runs the ticks of its policies', () => {
  let engines: FleetEngines;
  let etcd: Etcd3;
  let stateDir: string;
  const prefix = `/policy-host-test-${process.pid}`;
  const keys = fleetKeys(prefix);
  let stack: RunningStack | undefined;
  let rpc: RouterRpc | undefined;

  beforeAll(async () => {
    engines = await startFleetEngines();
    etcd = new Etcd3({ hosts: engines.etcd.url });
    stateDir = mkdtempSync(join('/tmp', 'wa-policy-host-'));
  }, 120_000);

  afterEach(async () => {
    rpc?.close();
    await stack?.close();
    stack = undefined;
  }, 60_000);

  afterAll(async () => {
    etcd?.close();
    await engines?.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  /** host-p in the fleet, its scheduler and its policies' clock on `clock` (the coordinator too: it is the only host). */
  async function start(clock: ManualClock): Promise<RunningStack> {
    stack = await startBareStack(stateDir, {
      timeouts: { command: '5s' },
      fleet: {
        host: 'host-p', nats: { servers: [engines.nats.url] }, etcd: { endpoints: [engines.etcd.url] },
        prefix, leaseTtl: '3s', reassignAfter: '6s',
      },
    }, {
      scheduler: createScheduler(clock), ops: { clock }, repositoryDir: engines.repositoryDir,
      adminToken: engines.tokens.admin, clientToken: engines.tokens.client,
    });
    rpc = createRouterRpc({ address: stack.router.address, token: engines.tokens.admin });
    return stack;
  }

  type PolicyStatus = { name: string; state: string; reason?: string; runs: PolicyRun[] };
  const policy = async (s: RunningStack): Promise<PolicyStatus | undefined> => {
    const body = (await http(`http://${s.ops.address}`, 'GET', '/api/v1/status')).body as { policies: PolicyStatus[] };
    return body.policies.find((p) => p.name === 'nightly');
  };
  const runs = async (s: RunningStack): Promise<PolicyRun[]> => (await policy(s))?.runs ?? [];
  /** The policy's first runs; when none come, the failure says what the host knows (the policy's state, its claims). */
  const firstRuns = async (s: RunningStack, ms: number, what: string): Promise<PolicyRun[]> => {
    try {
      return await eventually(async () => ((await runs(s)).length > 0 ? runs(s) : undefined), ms, what);
    } catch (error) {
      const known = { policy: await policy(s), claims: s.fleet?.claims.counters };
      throw new Error(`${(error as Error).message}; ${JSON.stringify(known)}`);
    }
  };
  /** TICK sent straight to the policy's instance: `runs` counts every TICK its worker process executed. */
  const tickDirectly = async (): Promise<{ runs: number; pid: number }> => {
    const reply = await rpc!.sendCommand({ command: 'TICK', target: 'nightly', payload: '{}', timeout_ms: 10_000 });
    expect(reply.status, reply.error).toBe('SUCCESS');
    return JSON.parse(reply.payload) as { runs: number; pid: number };
  };
  const read = async <T>(key: string): Promise<T | null> => {
    const text = await etcd.get(key).string();
    return text === null ? null : (JSON.parse(text) as T);
  };

  it('registers the policy, runs the coordinator\'s tick once with its uuid; a restart replays it, never runs it again', async () => {
    const clock = new ManualClock(at(0, 30));
    const first = await start(clock);
    const posted = await http(`http://${first.ops.address}`, 'POST', '/api/v1/policies', { body: NIGHTLY_POLICY, type: 'application/x-yaml', token: engines.tokens.admin });
    expect(posted.status, posted.text).toBe(201);
    expect(await read<PolicyRegistration>(keys.policies('nightly'))).toMatchObject({ host: 'host-p', schedule: '* * * * *', command: 'TICK', package: 'tests/counter@^1', dryRun: true });
    // this host is the coordinator: its ticker sleeps on the clock until 00:01 (the policy manager does not: in a fleet
    // the schedule is the coordinator's alone)
    await until(() => first.fleet?.status().then((s) => s.coordinator?.host === 'host-p') ?? false, 20_000, 'host-p coordinating');
    await until(() => clock.waiting === 1, 20_000, 'the tick scheduled');

    clock.advance(at(1) - clock.now());
    const uuid = `nightly-${at(1)}`;
    const ran = await firstRuns(first, 20_000, 'the 00:01 run');
    expect(ran).toEqual([expect.objectContaining({ status: 'SUCCESS', uuid })]);
    expect(await read<PolicyTick>(keys.ticks('nightly'))).toEqual({ tick: at(1), uuid, at: at(1) });
    expect(await read<{ state: string }>(`${prefix}/uuids/${uuid}`)).toMatchObject({ state: 'done' });
    // the worker ran that tick once: its reply (the dry-run file, kept on this host) says TICK number 1, the next is 2
    const files = readdirSync(join(stateDir, 'dry-run', 'nightly'));
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(stateDir, 'dry-run', 'nightly', files[0]!), 'utf8'))).toMatchObject({ policy: 'nightly', status: 'SUCCESS', payload: { runs: 1 } });
    const before = await tickDirectly();
    expect(before.runs).toBe(2);
    await first.close();
    stack = undefined;

    // the host died after sending the tick, before recording its run: state.json without it
    const stateFile = join(stateDir, 'state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { policies: Array<{ name: string; runs: PolicyRun[] }> };
    for (const p of state.policies) p.runs = p.runs.filter((r) => r.uuid !== uuid);
    writeFileSync(stateFile, JSON.stringify(state));

    // back 2 s after the tick: the tick record is listed, recent enough, sent again with the same uuid
    const second = await start(new ManualClock(at(1, 2)));
    const again = await firstRuns(second, 30_000, 'the 00:01 tick seen again');
    expect(again).toEqual([expect.objectContaining({ status: 'SUCCESS', uuid })]);
    expect(second.fleet?.claims.counters.replayed).toBe(1);
    // the new worker process never ran the tick: the next TICK is its first
    const after = await tickDirectly();
    expect(after.pid).not.toBe(before.pid);
    expect(after.runs).toBe(1);
  }, 180_000);

  it('a name another host holds is refused with 409, nothing started; DELETE gives the name and its tick record up', async () => {
    const other: PolicyRegistration = { host: 'host-q', incarnation: 'inc-q', package: 'tests/counter@^1', schedule: null, command: 'TICK', dryRun: false, since: 0 };
    await etcd.put(keys.policies('taken')).value(JSON.stringify(other)).exec();
    const s = await start(new ManualClock(at(2, 30)));
    const base = `http://${s.ops.address}`;
    const body = NIGHTLY_POLICY.replace('nightly', 'fresh') + NIGHTLY_POLICY.replace('policies:\n', '').replace('nightly', 'taken');
    const refused = await http(base, 'POST', '/api/v1/policies', { body, type: 'application/x-yaml', token: engines.tokens.admin });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ detail: "policy 'taken' already exists" });
    expect(await read(keys.policies('fresh'))).toBeNull();
    const workers = (await http(base, 'GET', '/api/v1/status')).body as { workers: Array<{ identifier: string }> };
    expect(workers.workers.map((w) => w.identifier)).not.toContain('fresh');

    // the restored `nightly` of the first test is registered again by this run
    await until(async () => (await read<PolicyRegistration>(keys.policies('nightly')))?.host === 'host-p', 20_000, 'nightly registered again');
    expect(await read(keys.ticks('nightly'))).not.toBeNull();
    // a policy still starting refuses DELETE (400, "still starting"): asked again once it has started, as a user would
    let deleted = await http(base, 'DELETE', '/api/v1/policies/nightly', { token: engines.tokens.admin });
    await until(async () => {
      if (deleted.status !== 400 || !deleted.text.includes('still starting')) return true;
      deleted = await http(base, 'DELETE', '/api/v1/policies/nightly', { token: engines.tokens.admin });
      return false;
    }, 60_000, 'nightly started, so it can be deleted');
    expect(deleted.status, deleted.text).toBe(200);
    expect(await read(keys.policies('nightly'))).toBeNull();
    expect(await read(keys.ticks('nightly'))).toBeNull();
    expect(await read(keys.policies('taken'))).toEqual(other);
  }, 120_000);
});
