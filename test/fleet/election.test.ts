// The coordinator's election and fencing on a real etcd (docs/fleet.md, the coordinator): contenders in one process,
// each with its own client and host lease.
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { Election, type ElectionLease } from '../../src/fleet/coordinator/election.js';
import { FencedWriter } from '../../src/fleet/coordinator/fenced.js';
import { findBinary, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { fleetKeys, type FleetKeys } from '../../src/fleet/keys.js';
import { HostLeases } from '../../src/fleet/registry/leases.js';
import { startStandaloneEtcd, until } from './engines.js';

const LEASE_TTL = 3000;
const logger = createLogger('election-test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' });

const skip = (await findBinary('etcd')) ? undefined : 'election tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

interface Contender {
  name: string;
  client: Etcd3;
  leases: HostLeases;
  election: Election;
  elected: string[];
  deposed: string[];
  /** sinceRenewal() of its lease at each deposition. */
  sinceAtDeposed: number[];
  /** Leases to revoke at the end besides `leases`. */
  extra: HostLeases[];
  /** The lease the election sees (swapped on a re-registration). */
  current: { leases: ElectionLease | undefined };
}

describe.skipIf(skip !== undefined)('coordinator election', () => {
  let standalone: Awaited<ReturnType<typeof startStandaloneEtcd>> | undefined;
  let etcd: LocalServer;
  let prefixes = 0;
  let contenders: Contender[] = [];
  let keys: FleetKeys;
  let admin: Etcd3;
  const hidden: NodeJS.Timeout[] = [];

  beforeAll(async () => {
    standalone = await startStandaloneEtcd('election');
    ({ etcd, admin } = standalone);
  }, 60_000);

  afterAll(async () => {
    await standalone?.close();
  });

  afterEach(async () => {
    for (const timer of hidden.splice(0)) clearInterval(timer);
    for (const c of contenders) {
      await c.election.close().catch(() => undefined);
      for (const l of [c.leases, ...c.extra]) await l.revoke().catch(() => undefined);
      c.client.close();
    }
    contenders = [];
  });

  function nextKeys(): FleetKeys {
    prefixes += 1;
    keys = fleetKeys(`/election-test-${process.pid}-${prefixes}`);
    return keys;
  }

  /**
   * A contender with its own client and host lease; `now` drives its lease's clock (a frozen one never turns stale).
   * `keepAlive: 'hidden'`: etcd's lease is renewed behind HostLeases' back, so only the election's own rule can depose it.
   */
  async function contender(name: string, options: { now?: () => number; keepAlive?: 'on' | 'hidden' } = {}): Promise<Contender> {
    const client = new Etcd3({ hosts: etcd.url });
    const leases = await HostLeases.grant(client, { leaseTtlMs: LEASE_TTL, claimsTtlMs: 2 * LEASE_TTL }, logger, options.now);
    if (options.keepAlive === 'hidden') {
      const timer = setInterval(() => void leases.host.keepaliveOnce().catch(() => undefined), 500);
      leases.host.on('lost', () => clearInterval(timer));
      hidden.push(timer);
    } else leases.keepAlive(() => undefined);
    const current: Contender['current'] = { leases };
    const c: Contender = { name, client, leases, current, elected: [], deposed: [], sinceAtDeposed: [], extra: [], election: undefined as unknown as Election };
    c.election = new Election({ etcd: client, keys, host: name, leases: () => current.leases, leaseTtlMs: LEASE_TTL, logger: logger.child({ host: name }) }, {
      onElected: (revision) => c.elected.push(revision),
      onDeposed: (reason) => {
        c.deposed.push(reason);
        c.sinceAtDeposed.push(leases.sinceRenewal());
      },
    });
    contenders.push(c);
    return c;
  }

  const coordinators = (): Contender[] => contenders.filter((c) => c.election.state === 'COORDINATOR');

  async function holder(): Promise<{ host: string; incarnation: string } | null> {
    const text = await admin.get(keys.coordinator).string();
    return text === null ? null : (JSON.parse(text) as { host: string; incarnation: string });
  }

  async function oneCoordinator(ms: number): Promise<Contender> {
    await until(() => coordinators().length === 1, ms, 'one coordinator elected');
    return coordinators()[0]!;
  }

  it('three contenders: exactly one wins, the key names it, the others keep following', async () => {
    nextKeys();
    const all = await Promise.all(['host-a', 'host-b', 'host-c'].map((n) => contender(n)));
    for (const c of all) c.election.start();
    const winner = await oneCoordinator(10_000);
    expect(await holder()).toEqual({ host: winner.name, incarnation: winner.leases.incarnation, since: expect.any(Number) });
    const losers = all.filter((c) => c !== winner);
    const before = losers.map((c) => c.election.checks);
    // each loser looks twice more (its timer): still one coordinator
    await until(() => losers.every((c, i) => c.election.checks >= before[i]! + 2), 10_000, 'losers looked again');
    expect(coordinators()).toEqual([winner]);
    expect(winner.elected).toHaveLength(1);
    for (const c of losers) expect(c.elected).toEqual([]);
    expect(winner.election.writer?.revision).toBe(winner.elected[0]);
  });

  it('the winner\'s lease revoked: another is elected within leaseTtl + a few s, the old one is deposed', async () => {
    nextKeys();
    const all = await Promise.all(['host-a', 'host-b', 'host-c'].map((n) => contender(n)));
    for (const c of all) c.election.start();
    const first = await oneCoordinator(10_000);
    await first.leases.revoke();
    await until(() => coordinators().some((c) => c !== first), LEASE_TTL + 5000, 'a successor elected');
    const second = coordinators().find((c) => c !== first)!;
    expect((await holder())?.host).toBe(second.name);
    await until(() => first.election.state === 'FOLLOWER', 5000, 'the old coordinator deposed');
    expect(first.deposed).toHaveLength(1);
    expect(BigInt(second.elected[0]!)).toBeGreaterThan(BigInt(first.elected[0]!));
  });

  it('the winner stops renewing (killed): its key lapses with its lease and another takes over', async () => {
    nextKeys();
    const frozen = 1_000_000;
    const a = await contender('host-a', { now: () => frozen });
    a.election.start();
    await oneCoordinator(10_000);
    const b = await contender('host-b');
    b.election.start();
    a.leases.stop();
    await until(() => b.election.state === 'COORDINATOR', LEASE_TTL + 5000, 'host-b elected after host-a\'s lease lapsed');
    expect((await holder())?.host).toBe('host-b');
  });

  describe('fencing', () => {
    it('a frozen coordinator wakes up: its writes are refused, it steps down, the new coordinator\'s data is intact', async () => {
      nextKeys();
      // host-a's lease clock is frozen, as in a process stopped by SIGSTOP: it never sees its lease as stale
      const a = await contender('host-a', { now: () => 1_000_000 });
      a.election.start();
      await oneCoordinator(10_000);
      const oldRevision = a.elected[0]!;
      const oldWriter = a.election.writer!;
      expect(await oldWriter.commit([{ put: `${keys.desiredPrefix}marker`, value: 'a' }])).toBe(true);

      const b = await contender('host-b');
      b.election.start();
      a.leases.stop();
      await until(() => b.election.state === 'COORDINATOR', LEASE_TTL + 5000, 'host-b elected');
      expect(await b.election.writer!.commit([{ put: `${keys.desiredPrefix}marker`, value: 'b' }])).toBe(true);

      // the write of a coordinator that has not noticed anything yet: etcd refuses it
      const refusals: string[] = [];
      const stale = new FencedWriter({ etcd: a.client, keys, logger }, oldRevision, { current: () => true, refused: (r) => refusals.push(r) });
      expect(await stale.commit([{ put: `${keys.desiredPrefix}marker`, value: 'a-again' }, { delete: `${keys.desiredPrefix}other` }])).toBe(false);
      expect(refusals).toEqual([`a fenced write was refused: ${keys.coordinator} is held by host-b (incarnation ${b.leases.incarnation})`]);
      expect(stale.fenced).toBe(true);
      expect(await stale.commit([{ put: `${keys.desiredPrefix}marker`, value: 'a-again' }])).toBe(false);

      // host-a's own writer: refused as well, and host-a is a follower
      expect(await oldWriter.commit([{ put: `${keys.desiredPrefix}marker`, value: 'a-late' }])).toBe(false);
      await until(() => a.election.state === 'FOLLOWER', 5000, 'host-a stepped down');
      expect(a.deposed).toHaveLength(1);
      expect(a.election.writer).toBeUndefined();
      expect(await admin.get(`${keys.desiredPrefix}marker`).string()).toBe('b');
      expect((await holder())?.host).toBe('host-b');
      expect(coordinators()).toEqual([b]);
    });

    it('a compared key that changed refuses the write without deposing', async () => {
      nextKeys();
      const a = await contender('host-a');
      a.election.start();
      await oneCoordinator(10_000);
      const writer = a.election.writer!;
      const key = `${keys.assignmentsPrefix}host-x`;
      expect(await writer.commit([{ put: key, value: '1' }], [{ key, target: 'Create', value: 0 }])).toBe(true);
      const { kvs } = await admin.get(key).exec();
      const modRevision = kvs[0]!.mod_revision;
      await admin.put(key).value('changed elsewhere');
      expect(await writer.commit([{ put: key, value: '2' }], [{ key, target: 'Mod', value: modRevision }])).toBe(false);
      expect(writer.fenced).toBe(false);
      expect(a.election.state).toBe('COORDINATOR');
      expect(await admin.get(key).string()).toBe('changed elsewhere');
    });
  });

  describe('stepping down by itself', () => {
    it('at leaseTtl − 1 s without a renewal, before its lease can have lapsed (injected clock)', async () => {
      nextKeys();
      let now = 1_000_000;
      const a = await contender('host-a', { now: () => now, keepAlive: 'hidden' });
      a.election.start();
      await oneCoordinator(10_000);
      now += LEASE_TTL - 1001;
      await a.election.check();
      expect(a.election.state).toBe('COORDINATOR');
      now += 1;
      await a.election.check();
      expect(a.election.state).toBe('FOLLOWER');
      expect(a.deposed).toEqual([`its lease was not renewed for ${LEASE_TTL - 1000} ms`]);
      // it resigned: the key is gone at once, not with the lease (which etcd still holds); a stale lease does not campaign
      expect(await holder()).toBeNull();
      const campaigns = a.election.campaigns;
      await a.election.check();
      expect(a.election.campaigns).toBe(campaigns);
      expect(a.election.writer).toBeUndefined();
      // renewed again: it campaigns and wins
      a.leases.renewedAt = now;
      await a.election.check();
      expect(a.election.state).toBe('COORDINATOR');
    });

    it('with the real clock and no renewal seen: deposed by its own timer once sinceRenewal ≥ leaseTtl − 1 s', async () => {
      nextKeys();
      const a = await contender('host-a', { keepAlive: 'hidden' });
      a.election.start();
      await oneCoordinator(10_000);
      await until(() => a.deposed.length > 0, 10_000, 'host-a stepped down');
      expect(a.sinceAtDeposed[0]).toBeGreaterThanOrEqual(LEASE_TTL - 1000);
      expect(a.deposed[0]).toMatch(/^its lease was not renewed for \d+ ms$/);
      // the delete follows the step-down's event; etcd keeps the lease alive here, so only that delete removes the key
      await until(async () => (await holder()) === null, 5_000, 'host-a deleted its coordinator key');
    });
  });

  it('a host that re-registers with a new lease campaigns on it', async () => {
    nextKeys();
    const a = await contender('host-a');
    a.election.start();
    await oneCoordinator(10_000);
    const fresh = await HostLeases.grant(a.client, { leaseTtlMs: LEASE_TTL, claimsTtlMs: 2 * LEASE_TTL }, logger);
    fresh.keepAlive(() => undefined);
    a.extra.push(fresh);
    a.current.leases = fresh;
    void a.election.check();
    await until(async () => a.election.state === 'COORDINATOR' && (await holder())?.incarnation === fresh.incarnation, 10_000, 'coordinating on the new lease');
    expect(a.deposed).toEqual(['this host re-registered with a new lease']);
    expect(a.elected).toHaveLength(2);
    const { kvs } = await admin.get(keys.coordinator).exec();
    expect(String(kvs[0]!.lease)).toBe(fresh.hostId);
  });

  it('a key of this host\'s earlier term is deleted, never adopted: the new term has a new create revision', async () => {
    nextKeys();
    const a = await contender('host-a');
    // as left by a step-down that could not delete it: this host's name, its live lease
    await admin.put(keys.coordinator).value(JSON.stringify({ host: 'host-a', incarnation: a.leases.incarnation, since: 1 })).lease(a.leases.hostId).exec();
    const left = (await admin.get(keys.coordinator).exec()).kvs[0]!.create_revision;
    a.election.start();
    await oneCoordinator(10_000);
    expect(BigInt(a.elected[0]!)).toBeGreaterThan(BigInt(left));
    const { kvs } = await admin.get(keys.coordinator).exec();
    expect(String(kvs[0]!.create_revision)).toBe(a.elected[0]);
    // a writer of the old term is refused
    const old = new FencedWriter({ etcd: a.client, keys, logger }, String(left), { current: () => true, refused: () => undefined });
    expect(await old.commit([{ put: `${keys.desiredPrefix}x`, value: '1' }])).toBe(false);
  });

  it('close() resigns: the key goes at once and another contender is elected without waiting for the lease', async () => {
    nextKeys();
    const a = await contender('host-a');
    a.election.start();
    await oneCoordinator(10_000);
    const b = await contender('host-b');
    b.election.start();
    await until(() => b.election.checks > 0, 5000, 'host-b looked');
    await a.election.close();
    expect(a.deposed).toEqual(['closed']);
    expect(a.election.state).toBe('CLOSED');
    // host-a's lease is still renewed: only its resignation lets host-b in
    await until(() => b.election.state === 'COORDINATOR', 10_000, 'host-b elected');
    expect(a.leases.health).toBe('LIVE');
  });
});
