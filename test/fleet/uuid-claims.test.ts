// Fleet-wide uuid claims on a real etcd (docs/fleet.md, a uuid claim; claims in batches): the claims and the recorded
// replies of one turn go to etcd as one transaction, each uuid still won, lost, replayed or refused on its own.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { UuidClaims } from '../../src/fleet/claims/uuid-claims.js';
import type { Reply } from '../../src/proto/types.js';
import { allThreadsStopped, fleetSkipReason, startStandaloneEtcd, until } from './engines.js';

const skip = await fleetSkipReason();

interface Stored {
  fingerprint: string;
  host: string;
  state: 'pending' | 'done';
  reply?: Reply;
}

const logger = createLogger('test', { level: 'silent' });
const context = (host: string) => ({ host, incarnation: () => `${host}-1`, isLost: () => false });

/** A command run counted per uuid; its reply names the uuid. */
function runner() {
  const runs = new Map<string, number>();
  const run = (uuid: string) => async (): Promise<Reply> => {
    runs.set(uuid, (runs.get(uuid) ?? 0) + 1);
    return { uuid, status: 'SUCCESS', payload: JSON.stringify({ ran: uuid }), error: '', worker: 'w' };
  };
  return { runs, run };
}

interface TestEtcd {
  engine: Awaited<ReturnType<typeof startStandaloneEtcd>>;
  client: Etcd3;
}

/** Inside a describe: an etcd started with `extraArgs` and a client to it for its tests, both stopped after them. */
function etcdForTests(name: string, extraArgs: string[] = []): TestEtcd {
  const etcd = {} as TestEtcd;
  beforeAll(async () => {
    etcd.engine = await startStandaloneEtcd(name, extraArgs);
    etcd.client = new Etcd3({ hosts: etcd.engine.etcd.url });
  }, 60_000);
  afterAll(async () => {
    etcd.client?.close();
    await etcd.engine?.close();
  }, 60_000);
  return etcd;
}

describe.skipIf(skip !== undefined)('uuid claims, batched per turn', () => {
  const etcd = etcdForTests('claims');
  const prefix = `/claims-test-${process.pid}`;

  const stored = async (uuid: string) => {
    const range = await etcd.engine.admin.get(`${prefix}/uuids/${uuid}`).exec();
    const kv = range.kvs[0];
    if (!kv) throw new Error(`no key for ${uuid}`);
    return { value: JSON.parse(kv.value.toString()) as Stored, created: kv.create_revision, modified: kv.mod_revision };
  };

  it('claims the uuids of one turn in one transaction and records their replies in another; each runs once', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const { runs, run } = runner();
    const uuids = Array.from({ length: 10 }, () => randomUUID());
    const replies = await Promise.all(uuids.map((u) => claims.guard(u, 'ECHO:{}', 5000, run(u))));
    expect(replies.map((r) => r.payload)).toEqual(uuids.map((u) => JSON.stringify({ ran: u })));
    expect([...runs.values()]).toEqual(uuids.map(() => 1));
    expect(claims.counters).toEqual({ won: 10, replayed: 0, conflicts: 0, fallbacks: 0 });
    const keys = await Promise.all(uuids.map(stored));
    // one transaction for the ten claims, one for the ten records: every key has the same two revisions
    expect(new Set(keys.map((k) => k.created)).size).toBe(1);
    expect(new Set(keys.map((k) => k.modified)).size).toBe(1);
    expect(BigInt(keys[0]!.modified)).toBeGreaterThan(BigInt(keys[0]!.created));
    for (const [i, k] of keys.entries()) expect(k.value).toMatchObject({ state: 'done', host: 'host-a', reply: { uuid: uuids[i], status: 'SUCCESS' } });
  });

  it('decides each uuid of a batch on its own: new ones won, a done one replayed, another fingerprint refused', async () => {
    const first = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const a = runner();
    const [done, other] = [randomUUID(), randomUUID()];
    await Promise.all([first.guard(done, 'ECHO:{}', 5000, a.run(done)), first.guard(other, 'ECHO:{}', 5000, a.run(other))]);

    const second = new UuidClaims(etcd.client, prefix, context('host-b'), logger);
    const b = runner();
    const fresh = [randomUUID(), randomUUID()];
    const [replayed, refused, ...won] = await Promise.all([
      second.guard(done, 'ECHO:{}', 5000, b.run(done)),
      second.guard(other, 'ECHO:{"x":1}', 5000, b.run(other)),
      ...fresh.map((u) => second.guard(u, 'ECHO:{}', 5000, b.run(u))),
    ]);
    expect(replayed).toEqual({ uuid: done, status: 'SUCCESS', payload: JSON.stringify({ ran: done }), error: '', worker: 'w' });
    expect(refused).toMatchObject({ uuid: other, status: 'INVALID' });
    expect(refused!.error).toMatch(/^UUID_CONFLICT: /);
    expect(won.map((r) => r.payload)).toEqual(fresh.map((u) => JSON.stringify({ ran: u })));
    expect(b.runs.has(done) || b.runs.has(other)).toBe(false);
    expect([...b.runs.keys()].sort()).toEqual([...fresh].sort());
    expect(second.counters).toEqual({ won: 2, replayed: 1, conflicts: 1, fallbacks: 0 });
    const keys = await Promise.all(fresh.map(stored));
    expect(keys.map((k) => k.value.host)).toEqual(['host-b', 'host-b']);
    expect(keys[0]!.created).toBe(keys[1]!.created);
  });

  it('runs a uuid claimed twice in one turn once: the repeat leaves in a batch of its own and replays the first', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const { runs, run } = runner();
    const uuid = randomUUID();
    const [one, two] = await Promise.all([claims.guard(uuid, 'ECHO:{}', 5000, run(uuid)), claims.guard(uuid, 'ECHO:{}', 5000, run(uuid))]);
    expect(runs.get(uuid)).toBe(1);
    expect(one).toEqual(two);
    expect(claims.counters).toMatchObject({ won: 1, replayed: 1, fallbacks: 0 });
  });

  it('splits a turn of 150 claims into batches etcd takes (at most 64 uuids each): every one won', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const { runs, run } = runner();
    const uuids = Array.from({ length: 150 }, () => randomUUID());
    const replies = await Promise.all(uuids.map((u) => claims.guard(u, 'ECHO:{}', 5000, run(u))));
    expect(replies.every((r, i) => r.status === 'SUCCESS' && r.uuid === uuids[i])).toBe(true);
    expect(runs.size).toBe(150);
    expect(claims.counters).toEqual({ won: 150, replayed: 0, conflicts: 0, fallbacks: 0 });
    const created = new Set((await Promise.all(uuids.map(stored))).map((k) => k.created));
    expect(created.size).toBe(3);
  });

  it('returns the HOST_LOST a waiter recorded first, not its own late reply: one reply for the uuid everywhere', async () => {
    const owner = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    // host-b takes host-a for lost (as after host-a's lease lapsed): it records HOST_LOST over host-a's pending claim
    const waiter = new UuidClaims(etcd.client, prefix, { host: 'host-b', incarnation: () => 'host-b-1', isLost: (host) => host === 'host-a' }, logger);
    const uuid = randomUUID();
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const ownerReply = owner.guard(uuid, 'ECHO:{}', 5000, async () => {
      await gate;
      return { uuid, status: 'SUCCESS', payload: '{"late":true}', error: '', worker: 'w' };
    });
    await until(async () => (await etcd.engine.admin.get(`${prefix}/uuids/${uuid}`).string()) !== null, 5000, 'the pending claim');
    const waited = await waiter.guard(uuid, 'ECHO:{}', 5000, async () => {
      throw new Error('the waiter must not run it');
    });
    expect(waited.status).toBe('FAIL');
    expect(waited.error).toMatch(/^HOST_LOST: host host-a /);
    finish();
    expect(await ownerReply).toEqual(waited);
    expect((await stored(uuid)).value.reply).toEqual(waited);
  });

  it('records the reply of a claim that landed after its deadline (etcd frozen): a replay elsewhere gets it', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const { runs, run } = runner();
    await claims.guard(randomUUID(), 'ECHO:{}', 5000, run('warm')); // the window lease granted while etcd answers
    const uuid = randomUUID();
    etcd.engine.etcd.signal('SIGSTOP');
    // the stop is taken by each of etcd's threads in turn: on a busy host one may still answer a request sent at once
    await until(async () => allThreadsStopped(etcd.engine.etcd.pid), 10_000, 'every etcd thread stopped');
    let reply: Reply;
    try {
      reply = await claims.guard(uuid, 'ECHO:{}', 5000, run(uuid)); // 2 s: the claim's deadline, then run here
    } finally {
      etcd.engine.etcd.signal('SIGCONT');
    }
    expect(reply.status).toBe('SUCCESS');
    expect(claims.counters).toMatchObject({ won: 1, fallbacks: 1 });
    // the claim sent while etcd was frozen lands now, won: the reply run meanwhile is recorded over it
    await until(async () => (await etcd.engine.admin.get(`${prefix}/uuids/${uuid}`).string())?.includes('"done"') === true, 10_000, 'the late claim recorded');
    const elsewhere = new UuidClaims(etcd.client, prefix, context('host-b'), logger);
    const again = await elsewhere.guard(uuid, 'ECHO:{}', 5000, run(uuid));
    expect(again).toEqual(reply);
    expect(runs.get(uuid)).toBe(1);
  });

  // last: it stops etcd
  it('falls back to the host for every claim of a batch etcd does not answer: each runs, each counted', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const { runs, run } = runner();
    await claims.guard(randomUUID(), 'ECHO:{}', 5000, run('warm')); // the window lease granted while etcd answers
    await etcd.engine.etcd.stop();
    const uuids = [randomUUID(), randomUUID(), randomUUID()];
    const replies = await Promise.all(uuids.map((u) => claims.guard(u, 'ECHO:{}', 5000, run(u))));
    expect(replies.map((r) => r.uuid)).toEqual(uuids);
    expect(replies.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(uuids.map((u) => runs.get(u))).toEqual([1, 1, 1]);
    expect(claims.counters).toEqual({ won: 1, replayed: 0, conflicts: 0, fallbacks: 3 });
  });
});

describe.skipIf(skip !== undefined)('uuid claims on an etcd with lower limits than its defaults', () => {
  // 16 operations per transaction level: a batch of 64 (or 40) nested transactions is refused as a whole; requests of
  // 64 KiB at most: a batch of replies of 20 KB each is refused past three of them
  const etcd = etcdForTests('claims-limits', ['--max-txn-ops', '16', '--max-request-bytes', '65536']);
  const prefix = `/claims-limits-${process.pid}`;

  it('a batch refused as too big goes again in halves, and later batches stay that small: every uuid claimed, none falls back', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const { runs, run } = runner();
    const createdIn = async (uuids: string[]) => {
      const revisions = await Promise.all(uuids.map(async (u) => (await etcd.engine.admin.get(`${prefix}/uuids/${u}`).exec()).kvs[0]?.create_revision));
      const sizes = new Map<string, number>();
      for (const r of revisions) sizes.set(String(r), (sizes.get(String(r)) ?? 0) + 1);
      return [...sizes.values()];
    };
    // transactions etcd refused as invalid (too many operations), from its own metrics
    const refused = async () => {
      const text = await (await fetch(`${etcd.engine.etcd.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="Txn"'));
      return Number(line?.split(' ').pop());
    };
    const refusedBefore = await refused();
    const refusedAfter: number[] = [];
    for (const turn of [1, 2]) {
      const uuids = Array.from({ length: 40 }, () => randomUUID());
      const replies = await Promise.all(uuids.map((u) => claims.guard(u, 'ECHO:{}', 5000, run(u))));
      expect(replies.map((r) => r.status)).toEqual(uuids.map(() => 'SUCCESS'));
      expect(uuids.map((u) => runs.get(u))).toEqual(uuids.map(() => 1));
      // 40 → 20 + 20 → four batches of 10 (11 operations at the top); the second turn starts at 10
      expect(await createdIn(uuids), `turn ${turn}`).toEqual([10, 10, 10, 10]);
      refusedAfter.push(await refused());
    }
    // the first turn's batches of claims and of records were refused on the way down; the second turn's were not
    expect(refusedAfter[0]).toBeGreaterThan(refusedBefore);
    expect(refusedAfter[1]).toBe(refusedAfter[0]);
    expect(claims.counters).toEqual({ won: 80, replayed: 0, conflicts: 0, fallbacks: 0 });
    // and a replay through another host finds each recorded reply
    const elsewhere = new UuidClaims(etcd.client, prefix, context('host-b'), logger);
    const uuid = [...runs.keys()][0]!;
    expect(await elsewhere.guard(uuid, 'ECHO:{}', 5000, run(uuid))).toMatchObject({ uuid, status: 'SUCCESS' });
    expect(runs.get(uuid)).toBe(1);
  });

  it('replies recorded in a batch over the request size etcd takes go again in halves: each recorded whole', async () => {
    const claims = new UuidClaims(etcd.client, prefix, context('host-a'), logger);
    const blob = 'x'.repeat(20_000);
    const uuids = Array.from({ length: 12 }, () => randomUUID());
    const replies = await Promise.all(uuids.map((uuid) => claims.guard(uuid, 'ECHO:{}', 5000, async () => ({ uuid, status: 'SUCCESS', payload: JSON.stringify({ blob }), error: '', worker: 'w' }))));
    expect(replies.map((r) => r.status)).toEqual(uuids.map(() => 'SUCCESS'));
    expect(claims.counters).toEqual({ won: 12, replayed: 0, conflicts: 0, fallbacks: 0 });
    const elsewhere = new UuidClaims(etcd.client, prefix, context('host-b'), logger);
    const ranElsewhere: string[] = [];
    const again = await Promise.all(uuids.map((uuid) => elsewhere.guard(uuid, 'ECHO:{}', 5000, async () => {
      ranElsewhere.push(uuid);
      return { uuid, status: 'FAIL', payload: '', error: 'ran twice', worker: 'w' };
    })));
    expect(ranElsewhere).toEqual([]);
    expect(again).toEqual(replies);
  });
});
