// The desired state in a real etcd: an apply is one transaction (connectors, deletions, history), idempotent, declarative,
// conditioned on what it read; overrides kept or reset; cordons; dry runs write nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3, type ITxnRequest } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWorkerAdminError } from '../../src/common/errors.js';
import { parseDesiredFile } from '../../src/fleet/desired/file.js';
import { renderChange } from '../../src/fleet/desired/diff.js';
import { DesiredStore, type ApplyOptions } from '../../src/fleet/desired/store.js';
import type { DesiredEntry, HistoryEntry } from '../../src/fleet/desired/types.js';
import { findBinary, startEtcd, type LocalServer } from '../../src/fleet/engines/local-servers.js';

const skip = (await findBinary('etcd')) ? undefined : 'desired-state store tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

const file = (yaml: string): DesiredEntry[] => parseDesiredFile(`connectors:\n${yaml}`, 'desired.yaml');
const ECHO_SMTP = file('  - { type: utils, product: echo, instances: 6, config: { greeting: hello } }\n  - { type: mail, product: smtp }\n');
const opts = (extra: Partial<ApplyOptions> = {}): ApplyOptions => ({ by: 'alice@laptop', file: 'desired.yaml', digest: 'd1', ...extra });

describe.skipIf(skip !== undefined)('desired-state store', () => {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', 'wa-desired-'));
  let etcd: LocalServer;
  let client: Etcd3;
  let prefixes = 0;
  beforeAll(async () => {
    etcd = await startEtcd({ dir: join(dir, 'etcd') });
    client = new Etcd3({ hosts: etcd.url });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  /** A store on its own prefix, with a clock the test moves. */
  function store(extra: { maxTxnOps?: number; client?: Etcd3 } = {}): { store: DesiredStore; prefix: string; clock: { now: number } } {
    const prefix = `/wa-desired-${++prefixes}`;
    const clock = { now: 1_000_000 };
    return { store: new DesiredStore({ client: extra.client ?? client, prefix, now: () => clock.now, ...(extra.maxTxnOps ? { maxTxnOps: extra.maxTxnOps } : {}) }), prefix, clock };
  }
  const all = async (prefix: string): Promise<Record<string, unknown>> =>
    Object.fromEntries(Object.entries(await client.getAll().prefix(`${prefix}/`).strings()).map(([k, v]) => [k.slice(prefix.length), JSON.parse(v) as unknown]));
  const history = async (prefix: string): Promise<HistoryEntry[]> => Object.values(await client.getAll().prefix(`${prefix}/history/`).sort('Key', 'Ascend').json()) as HistoryEntry[];
  const revision = async (): Promise<string> => (await client.kv.range({ key: Buffer.from('/'), limit: 1 })).header.revision;

  it('writes every connector, stamped, with one history entry; the same file again changes and records nothing', async () => {
    const { store: s, prefix } = store();
    const first = await s.apply(ECHO_SMTP, opts());
    expect(first.applied).toBe(true);
    expect(first.changes.map(renderChange)).toEqual(['+ mail/smtp instances 1', '+ utils/echo instances 6']);
    const stored = await all(prefix);
    expect(stored['/desired/utils/echo']).toMatchObject({ type: 'utils', product: 'echo', instances: 6, config: { greeting: 'hello' }, applied: { by: 'alice@laptop', at: 1_000_000, file: 'desired.yaml', digest: 'd1' } });
    expect(Object.keys(stored).filter((k) => k.startsWith('/desired/')).sort()).toEqual(['/desired/mail/smtp', '/desired/utils/echo']);
    expect(await history(prefix)).toEqual([{ action: 'apply', at: 1_000_000, by: 'alice@laptop', file: 'desired.yaml', digest: 'd1', changes: first.changes }]);

    const before = await revision();
    const again = await s.apply(file('  - { type: mail, product: smtp }\n  - { type: utils, product: echo, config: { greeting: hello }, instances: 6 }\n'), opts({ digest: 'd2' }));
    expect(again).toEqual({ changes: [], applied: false });
    expect(await revision()).toBe(before);
    expect(await history(prefix)).toHaveLength(1);
    const got = await s.get();
    expect(got.overrides).toEqual({});
    expect(got.connectors.map((c) => `${c.type}/${c.product}@${c.applied.digest}`)).toEqual(['mail/smtp@d1', 'utils/echo@d1']);
  });

  it('--dry-run lists the changes and writes nothing', async () => {
    const { store: s, prefix } = store();
    await s.apply(ECHO_SMTP, opts());
    const before = await revision();
    const dry = await s.apply(file('  - { type: utils, product: echo, instances: 3, config: { greeting: hello } }\n'), opts({ dryRun: true }));
    expect(dry.applied).toBe(false);
    expect(dry.changes.map(renderChange)).toEqual(['- mail/smtp', '~ utils/echo instances 6 → 3']);
    expect(await revision()).toBe(before);
    expect(await history(prefix)).toHaveLength(1);
  });

  it('deletes what the file no longer lists with its override, rewrites only what changed, keeps the other overrides', async () => {
    const { store: s, prefix, clock } = store();
    await s.apply(ECHO_SMTP, opts());
    clock.now += 1000;
    await s.setOverride({ type: 'utils', product: 'echo' }, { mode: 'auto', intervalMs: 30_000, range: undefined, at: undefined }, 'admin@host-a', 'ADMIN_SET_UPDATE_MODE');
    await s.setOverride({ type: 'mail', product: 'smtp' }, { mode: 'manual', intervalMs: 60_000, range: undefined, at: undefined }, 'admin@host-a', 'ADMIN_ROLLBACK');
    clock.now += 1000;
    const result = await s.apply(file('  - { type: utils, product: echo, instances: 6, config: { greeting: hello } }\n  - { type: http, product: poll, instances: 2 }\n'), opts({ digest: 'd2' }));
    expect(result.changes.map(renderChange)).toEqual(['+ http/poll instances 2', '- mail/smtp']);
    const stored = await all(prefix);
    expect(Object.keys(stored).filter((k) => !k.startsWith('/history/')).sort()).toEqual(['/desired/http/poll', '/desired/utils/echo', '/overrides/utils/echo']);
    expect(stored['/desired/utils/echo']).toMatchObject({ applied: { digest: 'd1', at: 1_000_000 } }); // unchanged: not rewritten
    expect(stored['/desired/http/poll']).toMatchObject({ applied: { digest: 'd2', at: 1_002_000 } });
    const got = await s.get();
    expect(got.overrides).toEqual({ 'utils/echo': { update: { mode: 'auto', intervalMs: 30_000 }, by: 'admin@host-a', at: 1_001_000, reason: 'ADMIN_SET_UPDATE_MODE' } });
    expect((await history(prefix)).map((h) => h.action)).toEqual(['apply', 'override', 'override', 'apply']);

    // --reset-overrides: the override goes even though the connectors are the same
    const reset = await s.apply(file('  - { type: utils, product: echo, instances: 6, config: { greeting: hello } }\n  - { type: http, product: poll, instances: 2 }\n'), opts({ resetOverrides: true }));
    expect(reset).toEqual({ changes: [{ op: '-', product: 'utils/echo', field: 'override' }], applied: true });
    expect((await s.get()).overrides).toEqual({});
    expect(await s.apply(file('  - { type: utils, product: echo, instances: 6, config: { greeting: hello } }\n  - { type: http, product: poll, instances: 2 }\n'), opts({ resetOverrides: true })))
      .toEqual({ changes: [], applied: false });

    // an empty file removes everything
    const none = await s.apply([], opts());
    expect(none.changes.map(renderChange)).toEqual(['- http/poll', '- utils/echo']);
    expect((await s.get()).connectors).toEqual([]);
  });

  it('refuses an override of a product without a desired state', async () => {
    const { store: s, prefix } = store();
    const error = await s.setOverride({ type: 'utils', product: 'echo' }, { mode: 'auto', intervalMs: 1000, range: undefined, at: undefined }, 'x', 'y').catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'NOT_FOUND')).toBe(true);
    expect(await all(prefix)).toEqual({});
  });

  it('setManual (ADMIN_ROLLBACK) switches the mode to manual and keeps the effective interval and range', async () => {
    const { store: s, clock } = store();
    const echo = { type: 'utils', product: 'echo' };
    await s.apply(file('  - { type: utils, product: echo, update: { mode: auto, interval: 5m, range: "~1.2" } }\n'), opts());
    clock.now += 1000;
    // no override yet: the desired connector's own policy
    expect(await s.setManual(echo, 'admin@host-a', 'ADMIN_ROLLBACK')).toEqual({ update: { mode: 'manual', intervalMs: 300_000, range: '~1.2', at: undefined }, by: 'admin@host-a', at: 1_001_000, reason: 'ADMIN_ROLLBACK' });
    // an override in force: it, over the desired policy
    await s.setOverride(echo, { mode: 'planned', intervalMs: 30_000, range: '^1', at: '03:00' }, 'admin@host-b', 'ADMIN_SET_UPDATE_MODE');
    await s.setManual(echo, 'admin@host-c', 'ADMIN_ROLLBACK');
    expect((await s.get()).overrides['utils/echo']).toEqual({ update: { mode: 'manual', intervalMs: 30_000, range: '^1' }, by: 'admin@host-c', at: 1_001_000, reason: 'ADMIN_ROLLBACK' });
    const error = await s.setManual({ type: 'mail', product: 'smtp' }, 'x', 'ADMIN_ROLLBACK').catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'NOT_FOUND')).toBe(true);
    expect((await s.get()).overrides['mail/smtp']).toBeUndefined();
  });

  it('reads again and retries once when another write lands between its read and its transaction, then refuses', async () => {
    const other = store();
    const interfering = new Etcd3({ hosts: etcd.url });
    try {
      let interfere = 1;
      let n = 0;
      const real = interfering.kv.txn.bind(interfering.kv);
      // every conditioned transaction (a commit, not a read) first lets "another admin" change a connector
      interfering.kv.txn = async (req: ITxnRequest) => {
        if ((req.compare?.length ?? 0) > 0 && interfere-- > 0) await client.put(`${other.prefix}/desired/utils/echo`).value(JSON.stringify({ ...ECHO_SMTP[0], instances: 9 + n++, applied: { by: 'bob', at: 1, file: 'b.yaml', digest: 'b' } }));
        return real(req);
      };
      const s = new DesiredStore({ client: interfering, prefix: other.prefix, now: () => 5 });
      await other.store.apply(ECHO_SMTP, opts());
      const retried = await s.apply(file('  - { type: utils, product: echo, instances: 2, config: { greeting: hello } }\n'), opts({ digest: 'd3' }));
      expect(retried.applied).toBe(true);
      expect(retried.changes.map(renderChange)).toEqual(['- mail/smtp', '~ utils/echo instances 9 → 2']); // computed from the second read
      expect((await s.get()).connectors.map((c) => c.instances)).toEqual([2]);

      interfere = 2;
      const before = await all(other.prefix);
      const refused = await s.apply(file('  - { type: utils, product: echo, instances: 4 }\n'), opts({ digest: 'd4' })).catch((e: unknown) => e);
      expect(isWorkerAdminError(refused, 'FLEET_CONFLICT'), String(refused)).toBe(true);
      const after = await all(other.prefix);
      expect((after['/desired/utils/echo'] as { applied: { by: string } }).applied.by).toBe('bob'); // the other admin's write stands
      expect(Object.keys(after).filter((k) => k.startsWith('/history/'))).toEqual(Object.keys(before).filter((k) => k.startsWith('/history/')));
    } finally {
      interfering.close();
    }
  });

  it('two applies at once end in one file\'s state, never a mix', async () => {
    const { store: s, prefix } = store();
    await s.apply(file('  - { type: utils, product: echo }\n'), opts());
    const a = file('  - { type: utils, product: echo, instances: 2 }\n  - { type: mail, product: smtp }\n');
    const b = file('  - { type: http, product: poll }\n');
    const results = await Promise.allSettled([s.apply(a, opts({ digest: 'a' })), new DesiredStore({ client, prefix }).apply(b, opts({ digest: 'b' }))]);
    expect(results.every((r) => r.status === 'fulfilled' || isWorkerAdminError(r.reason, 'FLEET_CONFLICT'))).toBe(true);
    const products = (await s.get()).connectors.map((c) => `${c.type}/${c.product}:${c.instances}`);
    expect([['mail/smtp:1', 'utils/echo:2'], ['http/poll:1']]).toContainEqual(products);
  });

  it('writes 100 products in one transaction under etcd\'s own limit, and refuses a change over it with nothing written', async () => {
    const { store: s, prefix } = store();
    const products = (n: number, name: string, instances: number): DesiredEntry[] =>
      file(Array.from({ length: n }, (_, i) => `  - { type: utils, product: ${name}${i}, instances: ${instances} }\n`).join(''));
    expect((await s.apply(products(100, 'a', 1), opts())).changes).toHaveLength(100);
    expect((await s.apply(products(100, 'a', 2), opts())).changes).toHaveLength(100); // 100 compares + 2, 101 puts
    const before = await revision();
    const error = await s.apply(products(100, 'b', 1), opts()).catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'LIMIT_EXCEEDED')).toBe(true);
    expect((error as Error).message).toContain('this apply needs 201 operations in one etcd transaction, over etcd\'s limit of 128 (--max-txn-ops): apply it in two steps');
    expect(await revision()).toBe(before);
    expect((await s.get()).connectors).toHaveLength(100);
    const small = store({ maxTxnOps: 2 });
    expect(await small.store.apply(file('  - { type: utils, product: echo }\n  - { type: mail, product: smtp }\n'), opts()).catch((e: unknown) => (e as Error).message)).toContain('needs 3 operations');
    expect(await all(small.prefix)).toEqual({});
    expect(Object.keys(await all(prefix)).length).toBe(100 + 2); // 100 connectors, 2 history entries
  });

  it('cordons, drains and uncordons a host it has seen, once each, with history', async () => {
    const { store: s, prefix, clock } = store();
    const error = await s.setCordon('host-b', 'cordon', 'admin@host-a').catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe('host-b has never joined this fleet: no host of that name to cordon');
    await client.put(`${prefix}/seen/host-b`).value('{}');
    expect(await s.setCordon('host-b', 'cordon', 'admin@host-a')).toEqual({ changed: true });
    expect(await s.setCordon('host-b', 'cordon', 'admin@host-a')).toEqual({ changed: false });
    clock.now += 1;
    expect(await s.setCordon('host-b', 'drain', 'admin@host-c')).toEqual({ changed: true });
    expect(await s.cordons()).toEqual({ 'host-b': { mode: 'drain', by: 'admin@host-c', at: 1_000_001 } });
    clock.now += 1; // history keys sort by time
    expect(await s.setCordon('host-b', 'uncordon', 'admin@host-a')).toEqual({ changed: true });
    expect(await s.setCordon('host-b', 'uncordon', 'admin@host-a')).toEqual({ changed: false });
    expect(await s.cordons()).toEqual({});
    expect((await history(prefix)).map((h) => (h.action === 'cordon' ? `${h.host} ${h.mode} by ${h.by}` : h.action))).toEqual([
      'host-b cordon by admin@host-a', 'host-b drain by admin@host-c', 'host-b uncordon by admin@host-a',
    ]);
  });

  it('answers FLEET_ENGINE naming etcd within its deadline when etcd does not answer', async () => {
    const { store: s } = store({ client: new Etcd3({ hosts: 'http://127.0.0.1:9', dialTimeout: 500 }) });
    const error = await s.get().catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'FLEET_ENGINE'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^etcd: the desired state was not read: /);
  });
});
