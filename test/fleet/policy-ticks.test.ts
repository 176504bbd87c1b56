// Policy ticks on the coordinator, on a real etcd with hand-driven clocks (docs/fleet.md, policies): one tick written
// once, also across a change of coordinator; late ticks within the grace only, missed ones never made up; a writer of
// an ended term refused by etcd.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3, type Watcher } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { createScheduler } from '../../src/common/scheduler.js';
import { Coordinator } from '../../src/fleet/coordinator/coordinator.js';
import { FencedWriter } from '../../src/fleet/coordinator/fenced.js';
import { findBinary, startEtcd, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { fleetKeys, type FleetKeys } from '../../src/fleet/keys.js';
import type { PolicyRegistration } from '../../src/fleet/policies/tick.js';
import { PolicyTicker } from '../../src/fleet/policies/ticker.js';
import { HostLeases } from '../../src/fleet/registry/leases.js';
import type { PolicyTick } from '../../src/ops/policies/ports.js';
import { ManualClock } from '../helpers/clock.js';
import { until } from './engines.js';

const LEASE_TTL = 3000;
const GRACE = 2 * LEASE_TTL;
const logger = createLogger('policy-ticks-test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' });

const skip = (await findBinary('etcd')) ? undefined : 'policy tick tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

/** 2030-01-01 local time, `m` minutes and `s` seconds past midnight (the schedule is local time). */
const at = (m: number, s = 0): number => new Date(2030, 0, 1, 0, m, s).getTime();

interface Candidate {
  name: string;
  clock: ManualClock;
  client: Etcd3;
  leases: HostLeases;
  ticker: PolicyTicker;
  coordinator: Coordinator;
}

describe.skipIf(skip !== undefined)('policy ticks on the coordinator', () => {
  let dir: string;
  let etcd: LocalServer;
  let admin: Etcd3;
  let keys: FleetKeys;
  let prefixes = 0;
  let candidates: Candidate[] = [];
  let watcher: Watcher | undefined;
  /** Every K/ticks/ put seen, in order. */
  let written: Array<{ policy: string } & PolicyTick> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', 'wa-policy-ticks-'));
    etcd = await startEtcd({ dir: join(dir, 'etcd') });
    admin = new Etcd3({ hosts: etcd.url });
  }, 60_000);

  afterAll(async () => {
    admin?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await watcher?.cancel();
    watcher = undefined;
    for (const c of candidates) {
      await c.coordinator.close().catch(() => undefined);
      await c.leases.revoke().catch(() => undefined);
      c.client.close();
    }
    candidates = [];
  });

  /** A fresh prefix, every tick written under it recorded, and policies registered as a host would. */
  async function fleet(policies: Record<string, { schedule: string; since: number }>): Promise<void> {
    prefixes += 1;
    keys = fleetKeys(`/policy-ticks-test-${process.pid}-${prefixes}`);
    written = [];
    watcher = await admin.watch().prefix(keys.ticksPrefix).create();
    watcher.on('put', (kv) => written.push({ policy: kv.key.toString().slice(keys.ticksPrefix.length), ...(JSON.parse(kv.value.toString()) as PolicyTick) }));
    for (const [name, p] of Object.entries(policies)) {
      const value: PolicyRegistration = { host: 'host-x', incarnation: 'inc-x', package: 'utils/echo@^1', schedule: p.schedule, command: 'ECHO', dryRun: false, since: p.since };
      await admin.put(keys.policies(name)).value(JSON.stringify(value)).exec();
    }
  }

  /** A coordinator candidate with its own etcd client, host lease and clock (the scheduler's). */
  async function candidate(name: string, now: number): Promise<Candidate> {
    const clock = new ManualClock(now);
    const client = new Etcd3({ hosts: etcd.url });
    const leases = await HostLeases.grant(client, { leaseTtlMs: LEASE_TTL, claimsTtlMs: 2 * LEASE_TTL }, logger);
    leases.keepAlive(() => undefined);
    const ticker = new PolicyTicker({ etcd: client, keys, scheduler: createScheduler(clock), graceMs: GRACE, logger: logger.child({ host: name }) });
    const coordinator = new Coordinator({
      etcd: client, keys, host: name, leases: () => leases, leaseTtlMs: LEASE_TTL, reassignAfterMs: 2 * LEASE_TTL,
      resolveVersion: () => Promise.reject(new Error('no desired state in these tests')), policies: ticker, logger: logger.child({ host: name }),
    });
    const c = { name, clock, client, leases, ticker, coordinator };
    candidates.push(c);
    coordinator.start();
    return c;
  }

  /** Elected, and its scheduler sleeping until the next schedule time of each of `schedules` policies. */
  async function ticking(c: Candidate, schedules = 1): Promise<void> {
    await until(() => c.coordinator.election.state === 'COORDINATOR', 10_000, `${c.name} elected`);
    await until(() => c.clock.waiting === schedules, 10_000, `${c.name} scheduling ${schedules} policies`);
  }

  /** Moves `c`'s clock to `time`, and waits until every task it woke is done and sleeping again. */
  async function moveTo(c: Candidate, time: number, schedules = 1): Promise<void> {
    c.clock.advance(time - c.clock.now());
    await until(() => c.clock.waiting === schedules, 10_000, `${c.name}'s schedules done at ${new Date(time).toISOString()}`);
  }

  const ticks = (): Array<[string, number, string]> => written.map((w) => [w.policy, w.tick, w.uuid]);

  it('one tick written once; after a change of coordinator the next one neither writes it again nor stops', async () => {
    await fleet({ nightly: { schedule: '* * * * *', since: at(0) } });
    const a = await candidate('host-a', at(0, 30));
    await ticking(a);
    const b = await candidate('host-b', at(0, 30));
    await moveTo(a, at(1));
    await until(() => written.length === 1, 10_000, 'the 00:01 tick');
    expect(ticks()).toEqual([['nightly', at(1), `nightly-${at(1)}`]]);
    expect(a.ticker.written).toBe(1);

    // host-a loses its lease right after writing; host-b, its clock behind, comes to 00:01 as the new coordinator
    await a.leases.revoke();
    await ticking(b);
    expect(b.coordinator.election.state).toBe('COORDINATOR');
    await until(() => a.coordinator.election.state === 'FOLLOWER', 10_000, 'host-a deposed');
    await moveTo(b, at(1));
    expect(b.ticker.written).toBe(0);
    await moveTo(b, at(2));
    await until(() => written.length === 2, 10_000, 'the 00:02 tick');
    expect(ticks()).toEqual([['nightly', at(1), `nightly-${at(1)}`], ['nightly', at(2), `nightly-${at(2)}`]]);
    expect(b.ticker.written).toBe(1);
  });

  it('missed ticks are not made up: a clock that jumped, a coordinator back after none was', async () => {
    await fleet({ nightly: { schedule: '* * * * *', since: at(0) } });
    const a = await candidate('host-a', at(0, 30));
    await ticking(a);
    await moveTo(a, at(1));
    await until(() => written.length === 1, 10_000, 'the 00:01 tick');
    // five schedule times pass at once within the term: none of them is written late
    await moveTo(a, at(6, 30));
    expect(a.ticker.written).toBe(1);
    await moveTo(a, at(7));
    await until(() => written.length === 2, 10_000, 'the 00:07 tick');

    // no coordinator for several ticks; the next one elected writes the next tick only
    await a.coordinator.close();
    const c = await candidate('host-c', at(12, 30));
    await ticking(c);
    await moveTo(c, at(13));
    await until(() => written.length === 3, 10_000, 'the 00:13 tick');
    expect(ticks()).toEqual([at(1), at(7), at(13)].map((t) => ['nightly', t, `nightly-${t}`]));
  });

  it('a successor elected just after a schedule time writes it within the grace, not for a policy registered after it', async () => {
    await fleet({ early: { schedule: '*/5 * * * *', since: at(0) }, late: { schedule: '*/5 * * * *', since: at(5, 1) } });
    // the coordinator before it died at 00:04:59; this one is elected at 00:05:02
    const c = await candidate('host-c', at(5, 2));
    await ticking(c, 2);
    await until(() => written.length === 1, 10_000, 'the 00:05 tick written late');
    expect(ticks()).toEqual([['early', at(5), `early-${at(5)}`]]);
    await moveTo(c, at(10), 2);
    await until(() => written.length === 3, 10_000, 'both 00:10 ticks');
    expect(ticks().slice(1).sort()).toEqual([['early', at(10), `early-${at(10)}`], ['late', at(10), `late-${at(10)}`]]);
  });

  it('a coordinator of an ended term cannot write a tick: etcd refuses it (fencing)', async () => {
    await fleet({ nightly: { schedule: '* * * * *', since: at(0) } });
    const a = await candidate('host-a', at(0, 30));
    await ticking(a);
    const old = a.coordinator.election.revision!;
    await a.coordinator.close(); // resigns: its key is deleted
    const b = await candidate('host-b', at(0, 30));
    await ticking(b);
    // a frozen coordinator waking up still believes in its term: only etcd's comparison stops it
    const refusals: string[] = [];
    const stale = new FencedWriter({ etcd: admin, keys, logger }, old, { current: () => true, refused: (reason) => refusals.push(reason) });
    const clock = new ManualClock(at(0, 30));
    const ticker = new PolicyTicker({ etcd: admin, keys, scheduler: createScheduler(clock), graceMs: GRACE, logger });
    ticker.begin(stale);
    try {
      await until(() => clock.waiting === 1, 10_000, 'the stale ticker scheduling');
      clock.advance(at(1) - clock.now());
      await until(() => refusals.length === 1, 10_000, 'the stale write refused');
      expect(refusals[0]).toMatch(/held by host-b/);
      expect(ticker.written).toBe(0);
      expect(stale.fenced).toBe(true);
      expect(await admin.get(keys.ticks('nightly')).string()).toBeNull();
      // the coordinator of the current term writes that tick
      await moveTo(b, at(1));
      await until(() => written.length === 1, 10_000, 'the 00:01 tick by host-b');
      expect(ticks()).toEqual([['nightly', at(1), `nightly-${at(1)}`]]);
    } finally {
      ticker.end();
    }
  });
});
