// The fleet's desired state in etcd (docs/fleet.md, etcd keys): K/desired/, K/overrides/, K/cordons/ and the history
// of who changed them. An apply is one transaction conditioned on what it read, so two applies never interleave.
import { randomBytes } from 'node:crypto';
import { CompareResult, CompareTarget, type Etcd3, type ICompare, type IKeyValue, type IRequestOp } from 'etcd3';
import { WorkerAdminError, errorMessage, isWorkerAdminError } from '../../common/errors.js';
import { productKey } from '../../common/names.js';
import { fleetKeys, type FleetKeys } from '../keys.js';
import { withDeadline } from '../registry/leases.js';
import { diffDesired, diffEntry } from './diff.js';
import { effectiveUpdate, type Change, type Cordon, type DesiredConnector, type DesiredEntry, type DesiredOverride, type DesiredState, type HistoryEntry } from './types.js';

const DEADLINE_MS = 2000;
/** etcd's default `--max-txn-ops`. */
const DEFAULT_MAX_TXN_OPS = 128;

interface DesiredStoreOptions {
  client: Etcd3;
  /** The fleet's etcd prefix (`/worker-admin`). */
  prefix: string;
  now?: () => number;
  /** Most operations etcd takes in one transaction (its `--max-txn-ops`). */
  maxTxnOps?: number;
}

export interface ApplyOptions {
  /** Who applied it (`admin@host-a`, or the user the CLI names). */
  by: string;
  /** The file's name as the user gave it. */
  file: string;
  /** sha256 of the file's text, hex. */
  digest: string;
  /** Compute the changes, write nothing. */
  dryRun?: boolean;
  /** Delete every override (ADMIN_SET_UPDATE_MODE, ADMIN_ROLLBACK) as well. */
  resetOverrides?: boolean;
}

export interface ApplyResult {
  changes: Change[];
  /** True when the changes were written (false: nothing to change, or a dry run). */
  applied: boolean;
}

export type CordonMode = 'cordon' | 'drain' | 'uncordon';

/** What one read of both prefixes saw, at one revision. */
interface Snapshot {
  revision: string;
  desired: Map<string, { kv: IKeyValue; connector: DesiredConnector }>;
  overrides: Map<string, { kv: IKeyValue; override: DesiredOverride }>;
}

/** The desired state of one fleet in etcd; every call has a 2 s deadline. */
export class DesiredStore {
  private readonly client: Etcd3;
  private readonly keys: FleetKeys;
  private readonly now: () => number;
  private readonly maxTxnOps: number;

  constructor(options: DesiredStoreOptions) {
    this.client = options.client;
    this.keys = fleetKeys(options.prefix);
    this.now = options.now ?? Date.now;
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
  }

  /**
   * Makes the stored desired state the file's: adds and changes what it lists, deletes what it no longer lists (with
   * their overrides), keeps the other overrides unless `resetOverrides`. Nothing to change: nothing written, no history.
   * A concurrent change between the read and the write: read again and retry once, then FAIL FLEET_CONFLICT.
   */
  async apply(entries: readonly DesiredEntry[], options: ApplyOptions): Promise<ApplyResult> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const snapshot = await this.read();
      const plan = this.plan(snapshot, entries, options);
      if (plan.changes.length === 0 || options.dryRun) return { changes: plan.changes, applied: false };
      const ops = Math.max(plan.compare.length, plan.success.length);
      if (ops > this.maxTxnOps) {
        throw new WorkerAdminError('LIMIT_EXCEEDED', `this apply needs ${ops} operations in one etcd transaction, over etcd's limit of ${this.maxTxnOps} (--max-txn-ops): apply it in two steps, first the new file with the products it removes still listed, then the new file`);
      }
      const { succeeded } = await this.etcd(this.client.kv.txn({ compare: plan.compare, success: plan.success }), 'the desired state was not written');
      if (succeeded) return { changes: plan.changes, applied: true };
    }
    throw new WorkerAdminError('FLEET_CONFLICT', 'the desired state changed twice while this apply was being written (another `fleet apply` at the same time?): nothing written, run it again');
  }

  /** The stored connectors (by product name) and the overrides beside them. */
  async get(): Promise<DesiredState> {
    const snapshot = await this.read();
    return {
      connectors: [...snapshot.desired.values()].map((d) => d.connector),
      overrides: Object.fromEntries([...snapshot.overrides].map(([product, o]) => [product, o.override])),
    };
  }

  /** One product's desired connector and its override; undefined when it has no desired state. */
  async product(ref: { type: string; product: string }): Promise<{ connector: DesiredConnector; override: DesiredOverride | undefined } | undefined> {
    const [connector, override] = await Promise.all([
      this.etcd(this.client.get(this.keys.desired(ref.type, ref.product)).string(), 'the desired state was not read'),
      this.etcd(this.client.get(this.keys.overrides(ref.type, ref.product)).string(), 'the override was not read'),
    ]);
    if (connector === null) return undefined;
    return { connector: JSON.parse(connector) as DesiredConnector, override: override === null ? undefined : (JSON.parse(override) as DesiredOverride) };
  }

  /** Writes a product's override (and its history entry); NOT_FOUND when the product has no desired state. */
  async setOverride(ref: { type: string; product: string }, update: DesiredOverride['update'], by: string, reason: string): Promise<DesiredOverride> {
    const at = this.now();
    const override: DesiredOverride = { update, by, at, reason };
    const entry: HistoryEntry = { action: 'override', at, by, product: productKey(ref), update, reason };
    const { succeeded } = await this.etcd(this.client.kv.txn({
      compare: [{ key: Buffer.from(this.keys.desired(ref.type, ref.product)), target: CompareTarget.Version, result: CompareResult.Greater, version: 0 }],
      success: [put(this.keys.overrides(ref.type, ref.product), override), this.history(entry)],
    }), 'the override was not written');
    if (!succeeded) throw new WorkerAdminError('NOT_FOUND', `${productKey(ref)} has no desired state in this fleet: nothing to override`);
    return override;
  }

  /**
   * Switches a product's update mode to manual (ADMIN_ROLLBACK), keeping the rest of its effective policy: its interval
   * and range, from its override over its desired one (`at` only goes with planned).
   */
  async setManual(ref: { type: string; product: string }, by: string, reason: string): Promise<DesiredOverride> {
    const found = await this.product(ref);
    if (!found) throw new WorkerAdminError('NOT_FOUND', `${productKey(ref)} has no desired state in this fleet: nothing to override`);
    const { intervalMs, range } = effectiveUpdate(found.connector, found.override);
    return this.setOverride(ref, { mode: 'manual', intervalMs, range, at: undefined }, by, reason);
  }

  /** Cordons, drains or uncordons a host (K/cordons/HOST); `changed` false when it already was so (no history then). */
  async setCordon(host: string, mode: CordonMode, by: string): Promise<{ changed: boolean }> {
    const key = this.keys.cordons(host);
    const [current, seen] = await Promise.all([
      this.etcd(this.client.get(key).string(), 'the cordon was not read'),
      this.etcd(this.client.get(this.keys.seen(host)).string(), 'the host was not looked up'),
    ]);
    const was = current === null ? undefined : (JSON.parse(current) as Cordon).mode;
    if (mode !== 'uncordon' && seen === null) throw new WorkerAdminError('NOT_FOUND', `${host} has never joined this fleet: no host of that name to ${mode}`);
    if ((mode === 'uncordon' && was === undefined) || mode === was) return { changed: false };
    const at = this.now();
    const write: IRequestOp = mode === 'uncordon' ? remove(key) : put(key, { mode, by, at } satisfies Cordon);
    await this.etcd(this.client.kv.txn({ success: [write, this.history({ action: 'cordon', at, by, host, mode })] }), `${host} was not ${mode}ed`);
    return { changed: true };
  }

  /** Every cordon by host. */
  async cordons(): Promise<Record<string, Cordon>> {
    const all = await this.etcd(this.client.getAll().prefix(this.keys.cordonsPrefix).strings(), 'the cordons were not read');
    return Object.fromEntries(Object.entries(all).map(([key, value]) => [key.slice(this.keys.cordonsPrefix.length), JSON.parse(value) as Cordon]));
  }

  private plan(snapshot: Snapshot, entries: readonly DesiredEntry[], options: ApplyOptions): { changes: Change[]; compare: ICompare[]; success: IRequestOp[] } {
    const stored = [...snapshot.desired.values()].map((d) => withoutApplied(d.connector));
    const changes = diffDesired(stored, entries);
    const next = new Set(entries.map((e) => productKey(e)));
    const success: IRequestOp[] = [];
    const at = this.now();
    for (const entry of entries) {
      const was = snapshot.desired.get(productKey(entry));
      if (was && diffEntry(withoutApplied(was.connector), entry).length === 0) continue;
      const connector: DesiredConnector = { ...entry, applied: { by: options.by, at, file: options.file, digest: options.digest } };
      success.push(put(this.keys.desired(entry.type, entry.product), connector));
    }
    for (const product of snapshot.desired.keys()) if (!next.has(product)) success.push(remove(this.keys.desiredPrefix + product));
    const kept = [...snapshot.overrides.keys()].filter((product) => next.has(product));
    if (options.resetOverrides && snapshot.overrides.size > 0) {
      success.push(remove(this.keys.overridesPrefix, prefixEnd(this.keys.overridesPrefix)));
      changes.push(...kept.map((product): Change => ({ op: '-', product, field: 'override' })));
    } else {
      for (const product of snapshot.overrides.keys()) if (!next.has(product)) success.push(remove(this.keys.overridesPrefix + product));
    }
    if (changes.length === 0) return { changes, compare: [], success: [] };
    success.push(this.history({ action: 'apply', at, by: options.by, file: options.file, digest: options.digest, changes }));
    const after = BigInt(snapshot.revision) + 1n;
    // each key read is unchanged (nor deleted), and no key appeared or changed in either prefix since the read
    const compare: ICompare[] = [...snapshot.desired.values()].map(({ kv }) => ({ key: kv.key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: kv.mod_revision }));
    for (const prefix of [this.keys.desiredPrefix, this.keys.overridesPrefix]) {
      compare.push({ key: Buffer.from(prefix), range_end: prefixEnd(prefix), target: CompareTarget.Mod, result: CompareResult.Less, mod_revision: after.toString() });
    }
    return { changes, compare, success };
  }

  /** Both prefixes at one revision (one transaction of two reads). */
  private async read(): Promise<Snapshot> {
    const res = await this.etcd(this.client.kv.txn({
      success: [this.keys.desiredPrefix, this.keys.overridesPrefix].map((prefix) => ({ request_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) } })),
    }), 'the desired state was not read');
    const kvs = (index: number): IKeyValue[] => res.responses[index]?.response_range.kvs ?? [];
    const desired: Snapshot['desired'] = new Map();
    for (const kv of kvs(0)) desired.set(kv.key.toString().slice(this.keys.desiredPrefix.length), { kv, connector: JSON.parse(kv.value.toString()) as DesiredConnector });
    const overrides: Snapshot['overrides'] = new Map();
    for (const kv of kvs(1)) overrides.set(kv.key.toString().slice(this.keys.overridesPrefix.length), { kv, override: JSON.parse(kv.value.toString()) as DesiredOverride });
    return { revision: res.header.revision, desired, overrides };
  }

  private history(entry: HistoryEntry): IRequestOp {
    return put(this.keys.history(entry.at, randomBytes(4).toString('hex')), entry);
  }

  // etcd unreachable or refusing: FLEET_ENGINE naming etcd and what was not done; nothing half-written (one transaction)
  private async etcd<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await withDeadline(promise, DEADLINE_MS);
    } catch (error) {
      if (isWorkerAdminError(error)) throw error;
      throw new WorkerAdminError('FLEET_ENGINE', `etcd: ${what}: ${errorMessage(error)}`, { cause: error });
    }
  }
}

/** A stored connector without its `applied` stamp: what a file declares. */
function withoutApplied(connector: DesiredConnector): DesiredEntry {
  const { applied: _applied, ...entry } = connector;
  return entry;
}

function put(key: string, value: unknown): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) } };
}

function remove(key: string, rangeEnd?: Buffer): IRequestOp {
  return { request_delete_range: { key: Buffer.from(key), ...(rangeEnd ? { range_end: rangeEnd } : {}) } };
}

/** The first key after every key starting with `prefix` (its last byte plus one). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}
