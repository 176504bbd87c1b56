// The coordinator's passes on a real etcd (docs/fleet.md, the coordinator; placement): host records and a desired
// state written straight into etcd, the assignments read back.
import { Etcd3 } from 'etcd3';
import semver from 'semver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { Coordinator, coordinatorStatus } from '../../src/fleet/coordinator/coordinator.js';
import { FencedWriter } from '../../src/fleet/coordinator/fenced.js';
import { runPass } from '../../src/fleet/coordinator/pass.js';
import type { FleetView } from '../../src/fleet/coordinator/view.js';
import type { DesiredConnector } from '../../src/fleet/desired/types.js';
import { findBinary, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { fleetKeys, type FleetKeys } from '../../src/fleet/keys.js';
import type { HostAssignments, HostReport, PlacementGaps, RunningVersion } from '../../src/fleet/placement/types.js';
import type { HostRecord } from '../../src/fleet/registry/host-record.js';
import { HostLeases } from '../../src/fleet/registry/leases.js';
import { resolveVersion } from '../../src/repository/versions.js';
import { startStandaloneEtcd, until } from './engines.js';

const LEASE_TTL = 3000;
const REASSIGN = 60_000;
const logger = createLogger('coordinator-test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' });

const skip = (await findBinary('etcd')) ? undefined : 'coordinator tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

/** What the repository lists for utils/echo in these tests. */
const LISTED = ['1.0', '1.2', '2.0'];

/** The resolver the coordinator is given: the newest listed version any entry allows (the repository's own rule). */
async function resolve(_type: string, product: string, versions: string[]): Promise<string> {
  const found = versions.flatMap((entry) => {
    try {
      return [resolveVersion(LISTED, entry, product)];
    } catch {
      return [];
    }
  });
  if (found.length === 0) throw new Error(`VERSION_NOT_FOUND: no ${product} version matches ${versions.join(', ')}`);
  return found.sort((a, b) => semver.compare(`${b}.0`, `${a}.0`))[0]!;
}

function record(name: string, over: Partial<HostRecord> = {}): HostRecord {
  return { name, incarnation: `inc-${name}`, inbox: 'inbox', protocol: 1, labels: {}, capacity: null, addresses: { router: '', ops: '' }, version: 'test', startedAt: 0, state: 'live', instances: [], serves: [], declares: [], ...over };
}

function desired(over: Partial<DesiredConnector> = {}): DesiredConnector {
  return {
    type: 'utils', product: 'echo', versions: ['^1'], instances: 6, hosts: {}, config: { greeting: 'hi' },
    update: { mode: 'manual', intervalMs: 0, range: undefined, at: undefined, maxParallel: 1, canary: 0, minHealthyMs: 10_000 },
    restart: 'always', applied: { by: 'test', at: 0, file: 'desired.yaml', digest: 'x' }, ...over,
  };
}

interface Running {
  coordinator: Coordinator;
  leases: HostLeases;
  client: Etcd3;
  views: FleetView[];
}

describe.skipIf(skip !== undefined)('coordinator passes', () => {
  let standalone: Awaited<ReturnType<typeof startStandaloneEtcd>> | undefined;
  let etcd: LocalServer;
  let admin: Etcd3;
  let keys: FleetKeys;
  let prefixes = 0;
  let running: Running[] = [];

  beforeAll(async () => {
    standalone = await startStandaloneEtcd('coordinator');
    ({ etcd, admin } = standalone);
  }, 60_000);

  afterAll(async () => {
    await standalone?.close();
  });

  afterEach(async () => {
    for (const r of running) {
      await r.coordinator.close().catch(() => undefined);
      await r.leases.revoke().catch(() => undefined);
      r.client.close();
    }
    running = [];
  });

  function nextKeys(): FleetKeys {
    prefixes += 1;
    keys = fleetKeys(`/coordinator-test-${process.pid}-${prefixes}`);
    return keys;
  }

  async function start(host: string, now?: () => number): Promise<Running> {
    const client = new Etcd3({ hosts: etcd.url });
    const leases = await HostLeases.grant(client, { leaseTtlMs: LEASE_TTL, claimsTtlMs: REASSIGN }, logger);
    leases.keepAlive(() => undefined);
    const views: FleetView[] = [];
    const coordinator = new Coordinator({
      etcd: client, keys, host, leases: () => leases, leaseTtlMs: LEASE_TTL, reassignAfterMs: REASSIGN, resolveVersion: resolve, logger: logger.child({ host }),
      rollouts: { pass: (view: FleetView, _writer: FencedWriter) => Promise.resolve(void views.push(view)) },
      ...(now ? { now } : {}),
    });
    coordinator.start();
    const r = { coordinator, leases, client, views };
    running.push(r);
    return r;
  }

  const put = (key: string, value: unknown): Promise<unknown> => admin.put(key).value(JSON.stringify(value)).exec();

  async function assignments(): Promise<Record<string, HostAssignments>> {
    const all = await admin.getAll().prefix(keys.assignmentsPrefix).strings();
    return Object.fromEntries(Object.entries(all).map(([k, v]) => [k.slice(keys.assignmentsPrefix.length), JSON.parse(v) as HostAssignments]));
  }

  /** identifier lists per host. */
  async function layout(): Promise<Record<string, string[]>> {
    return Object.fromEntries(Object.entries(await assignments()).map(([h, a]) => [h, a.instances.map((i) => i.identifier)]));
  }

  async function settle(want: Record<string, number>, what: string): Promise<void> {
    await until(async () => {
      const got = Object.fromEntries(Object.entries(await layout()).map(([h, ids]) => [h, ids.length]));
      return JSON.stringify(got) === JSON.stringify(want);
    }, 15_000, `${what}: ${JSON.stringify(want)}`);
  }

  it('6 instances over 3 hosts: 2 each at the recorded version; leaving, refusing, draining and scaling follow', async () => {
    nextKeys();
    for (const h of ['host-a', 'host-b', 'host-c']) await put(keys.hosts(h), record(h, { labels: { zone: h === 'host-c' ? 'us' : 'eu' } }));
    await put(keys.desired('utils', 'echo'), desired());
    const a = await start('host-a');
    const b = await start('host-b');
    await settle({ 'host-a': 2, 'host-b': 2, 'host-c': 2 }, 'placed');
    expect([a, b].filter((r) => r.coordinator.status().state === 'COORDINATOR')).toHaveLength(1);
    const leader = a.coordinator.status().state === 'COORDINATOR' ? a : b;

    const placed = await assignments();
    expect(placed['host-a']!.instances.map((i) => i.identifier)).toEqual(['utils-echo-1-1', 'utils-echo-1-4']);
    expect(placed['host-a']!.instances[0]).toEqual({ identifier: 'utils-echo-1-1', type: 'utils', product: 'echo', major: '1', n: 1, version: '1.2', config: { greeting: 'hi' }, restart: 'always' });
    expect(placed['host-a']!.lostSince).toBeNull();
    const recorded = JSON.parse((await admin.get(keys.running('utils', 'echo')).string())!) as RunningVersion;
    expect(recorded).toMatchObject({ version: '1.2', failed: [] });
    const gaps = JSON.parse((await admin.get(keys.placement).string())!) as PlacementGaps;
    expect(gaps.missing).toEqual([]);
    const status = await coordinatorStatus(admin, keys);
    expect(status.coordinator?.host).toBe(leader === a ? 'host-a' : 'host-b');
    expect(status.missing).toEqual([]);
    // the rollout runner saw the assignments the pass wrote
    await until(() => leader.views.some((v) => v.assignments.size === 3), 5000, 'rollout hook called with the placed view');

    // host-c leaves (SIGTERM): its instances move at once, nothing else moves
    await put(keys.hosts('host-c'), record('host-c', { state: 'leaving', labels: { zone: 'us' } }));
    await settle({ 'host-a': 3, 'host-b': 3, 'host-c': 0 }, 'host-c leaving');
    const afterLeave = await layout();
    expect(afterLeave['host-a']!.slice(0, 2)).toEqual(['utils-echo-1-1', 'utils-echo-1-3']);
    expect(afterLeave['host-a']).toEqual(expect.arrayContaining(placed['host-a']!.instances.map((i) => i.identifier)));
    expect(afterLeave['host-b']).toEqual(expect.arrayContaining(placed['host-b']!.instances.map((i) => i.identifier)));

    // host-b's report says it refused one (CONFIG_INVALID): its instances of utils/echo go elsewhere
    await put(keys.reports('host-b'), { incarnation: 'inc-host-b', at: 1, instances: [{ identifier: afterLeave['host-b']![0]!, version: '1.2', state: 'REFUSED', readySince: null, restarts: 0, error: 'CONFIG_INVALID: GREETING is not set on this host', failedVersion: null }] } satisfies HostReport);
    await settle({ 'host-a': 6, 'host-b': 0, 'host-c': 0 }, 'host-b refusing');
    await admin.delete().key(keys.reports('host-b')).exec();

    // a selector nobody matches: everything stops, the gap says why
    await put(keys.desired('utils', 'echo'), desired({ hosts: { zone: 'eu-2' } }));
    await settle({ 'host-a': 0, 'host-b': 0, 'host-c': 0 }, 'selector matches no host');
    await until(async () => (await coordinatorStatus(admin, keys)).missing.length === 1, 5000, 'gap recorded');
    expect((await coordinatorStatus(admin, keys)).missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 0, reason: 'no live host matches {zone: eu-2}' }]);
    expect(leader.coordinator.status().missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 0, reason: 'no live host matches {zone: eu-2}' }]);

    // back to eu, scaled down to 3, host-b drained: host-a takes all; then the connector removed: nothing anywhere
    await put(keys.cordons('host-b'), { mode: 'drain', by: 'test', at: 1 });
    await put(keys.desired('utils', 'echo'), desired({ hosts: { zone: 'eu' }, instances: 3 }));
    await settle({ 'host-a': 3, 'host-b': 0, 'host-c': 0 }, 'scaled to 3, host-b drained');
    expect((await layout())['host-a']).toEqual(['utils-echo-1-1', 'utils-echo-1-2', 'utils-echo-1-3']);
    await until(async () => (await coordinatorStatus(admin, keys)).missing.length === 0, 5000, 'gap cleared');
    await admin.delete().key(keys.desired('utils', 'echo')).exec();
    await settle({ 'host-a': 0, 'host-b': 0, 'host-c': 0 }, 'connector removed');
  });

  it('a lost host keeps its instances for reassignAfter on the coordinator\'s clock (a new one counts from its takeover), then they move', async () => {
    nextKeys();
    let now = 5_000_000;
    const clock = (): number => now;
    for (const h of ['host-a', 'host-b', 'host-c']) await put(keys.hosts(h), record(h));
    await put(keys.desired('utils', 'echo'), desired());
    const first = await start('host-a', clock);
    await settle({ 'host-a': 2, 'host-b': 2, 'host-c': 2 }, 'placed');

    const lostAt = now;
    await admin.delete().key(keys.hosts('host-c')).exec();
    await until(async () => (await assignments())['host-c']?.lostSince === lostAt, 10_000, 'host-c recorded lost');
    expect((await layout())['host-c']).toHaveLength(2);

    // a new coordinator, whose clock need not agree, counts from its takeover: later, never sooner
    await first.coordinator.close();
    now += REASSIGN - 1;
    const takeover = now;
    const second = await start('host-b', clock);
    await until(async () => (await assignments())['host-c']?.lostSince === takeover, 10_000, 'the count restarted at the takeover');
    expect((await layout())['host-c']).toHaveLength(2);

    now += REASSIGN - 1;
    const passes = second.coordinator.status().passes;
    second.coordinator.poke();
    await until(() => second.coordinator.status().passes > passes, 10_000, 'one more pass');
    expect((await layout())['host-c']).toHaveLength(2);

    now += 1;
    second.coordinator.poke();
    await settle({ 'host-a': 3, 'host-b': 3 }, 'host-c\'s instances moved, its key gone');
  });

  it('a product placed for the first time gets the newest version its entries allow, recorded once; none found is a gap', async () => {
    nextKeys();
    await put(keys.hosts('host-a'), record('host-a'));
    await put(keys.desired('utils', 'echo'), desired({ versions: ['^3'], instances: 1 }));
    await put(keys.desired('mail', 'smtp'), desired({ type: 'mail', product: 'smtp', versions: ['1.0', '^2'], instances: 1 }));
    const a = await start('host-a');
    await until(async () => (await coordinatorStatus(admin, keys)).missing.length === 1, 10_000, 'gap for utils/echo');
    expect((await coordinatorStatus(admin, keys)).missing).toEqual([{ product: 'utils/echo', wanted: 1, placed: 0, reason: 'no version to run: VERSION_NOT_FOUND: no echo version matches ^3' }]);
    expect(JSON.parse((await admin.get(keys.running('mail', 'smtp')).string())!)).toMatchObject({ version: '2.0' });
    expect((await layout())['host-a']).toEqual(['mail-smtp-2-1']);

    // the recorded version holds while an instance runs it, even when the entries now allow another
    await put(keys.desired('mail', 'smtp'), desired({ type: 'mail', product: 'smtp', versions: ['1.0'], instances: 1 }));
    const passes = a.coordinator.status().passes;
    await until(() => a.coordinator.status().passes > passes + 1, 10_000, 'two more passes');
    expect(JSON.parse((await admin.get(keys.running('mail', 'smtp')).string())!)).toMatchObject({ version: '2.0' });
  });

  it('the pass of a coordinator whose term ended writes nothing: the successor\'s assignments stay', async () => {
    nextKeys();
    for (const h of ['host-a', 'host-b', 'host-c']) await put(keys.hosts(h), record(h));
    await put(keys.desired('utils', 'echo'), desired());
    const closed: string[] = [];
    const a = await start('host-a');
    await settle({ 'host-a': 2, 'host-b': 2, 'host-c': 2 }, 'placed by host-a');
    const oldRevision = a.coordinator.election.writer!.revision;
    const oldWriter = a.coordinator.election.writer!;
    await a.coordinator.close();
    expect(oldWriter.fenced).toBe(true);

    const b = await start('host-b');
    await put(keys.desired('utils', 'echo'), desired({ instances: 3 }));
    await settle({ 'host-a': 1, 'host-b': 1, 'host-c': 1 }, 'scaled down by host-b');
    // host-b's term ends and a third coordinator holds the key (written here, so that nothing else reacts meanwhile)
    await b.coordinator.close();
    await put(keys.coordinator, { host: 'host-c', incarnation: 'c1', since: 1 });
    const before = await admin.getAll().prefix(keys.assignmentsPrefix).exec();

    // host-a frozen mid-term and woken up: it still believes in its term, and the desired state now asks for more
    await put(keys.desired('utils', 'echo'), desired({ instances: 9 }));
    const frozen = new FencedWriter({ etcd: a.client, keys, logger }, oldRevision, { current: () => true, refused: (r) => closed.push(r) });
    const deps = { etcd: a.client, keys, reassignAfterMs: REASSIGN, resolveVersion: resolve, rollouts: undefined, logger, now: Date.now };
    expect(await runPass(deps, frozen)).toMatchObject({ complete: false });
    expect(closed).toEqual([`a fenced write was refused: ${keys.coordinator} is held by host-c (incarnation c1)`]);
    expect(await runPass(deps, oldWriter)).toMatchObject({ complete: false });
    const after = await admin.getAll().prefix(keys.assignmentsPrefix).exec();
    expect(after.kvs.map((kv) => [kv.key.toString(), kv.mod_revision])).toEqual(before.kvs.map((kv) => [kv.key.toString(), kv.mod_revision]));
    expect(await admin.get(keys.placement).string()).toContain('"missing":[]');
  });

  it('keeps the newest 1,000 history entries', async () => {
    nextKeys();
    await put(keys.hosts('host-a'), record('host-a'));
    const all = Array.from({ length: 1005 }, (_, i) => keys.history(1_000_000 + i, 'r'));
    for (let i = 0; i < all.length; i += 100) {
      await admin.if(keys.coordinator, 'Create', '==', 0).then(...all.slice(i, i + 100).map((key) => admin.put(key).value('{}'))).commit();
    }
    await start('host-a');
    await until(async () => (await admin.getAll().prefix(keys.historyPrefix).count()) === 1000, 10_000, '1,000 history entries left');
    const left = await admin.getAll().prefix(keys.historyPrefix).sort('Key', 'Ascend').keys();
    expect(left[0]).toBe(all[5]);
    expect(left.at(-1)).toBe(all.at(-1));
  });
});
