// The admin side of a rollout (docs/fleet.md, a rollout: replies): any admin writes a request and answers by watching
// the product's rollout record until it lists the request in a terminal state, so a change of coordinator loses no reply.
import { randomUUID } from 'node:crypto';
import type { Etcd3, IKeyValue } from 'etcd3';
import { WorkerAdminError, errorCodeOf, explanationOf } from '../../common/errors.js';
import { productKey } from '../../common/names.js';
import type { ProductRef } from '../../admin/payloads.js';
import type { FleetKeys } from '../keys.js';
import { withDeadline } from '../registry/leases.js';
import { isTerminal } from './machine.js';
import type { RolloutControl, RolloutRecord, RolloutRequest, RolloutTrigger } from './types.js';

interface RolloutAsk {
  version?: string | undefined;
  maxParallel?: number | undefined;
  canary?: number | undefined;
  minHealthyMs?: number | undefined;
  trigger: RolloutTrigger;
  /** Who asked (`admin@host-a`), for the record and the logs. */
  by: string;
  /** The request's id; given again, the same request is followed (never a second one written). */
  id?: string | undefined;
}

/** The reply of a fleet ADMIN_UPDATE / ADMIN_ROLLBACK. */
interface RolloutOutcome {
  from: string;
  to: string;
  instances: string[];
}

interface FollowDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  now?: () => number;
  /** Aborted when the admin closes: a follower answers at once that the rollout goes on. */
  signal?: AbortSignal | undefined;
}

const CALL_MS = 2000;

function parseRecord(kv: IKeyValue | undefined): RolloutRecord | undefined {
  if (!kv) return undefined;
  try {
    return JSON.parse(kv.value.toString()) as RolloutRecord;
  } catch {
    return undefined;
  }
}

/**
 * Writes a rollout request (unless one with this id is already written or answered) and waits until a record
 * answers it: its outcome, or UPDATE_FAILED / UPDATE_ABORTED / the refusal's own code. At `deadlineAt`: TIMEOUT
 * saying the rollout goes on (or waits) and naming it.
 */
export async function requestRollout(deps: FollowDeps, ref: ProductRef, ask: RolloutAsk, deadlineAt: number): Promise<RolloutOutcome> {
  const { etcd, keys } = deps;
  const id = ask.id ?? randomUUID();
  const recordKey = keys.rollouts(ref.type, ref.product);
  const requestKey = keys.rolloutRequest(ref.type, ref.product, id);
  const request: RolloutRequest = {
    id, version: ask.version, maxParallel: ask.maxParallel, canary: ask.canary, minHealthyMs: ask.minHealthyMs,
    trigger: ask.trigger, by: ask.by, at: (deps.now ?? Date.now)(),
  };
  for (;;) {
    // one transaction: a record that already answers this id, or the request written while the record is unchanged
    const [record, pending] = await Promise.all([withDeadline(etcd.get(recordKey).exec(), CALL_MS), withDeadline(etcd.get(requestKey).exec(), CALL_MS)]);
    const kv = record.kvs[0];
    const current = parseRecord(kv);
    if (current?.requests.includes(id) || pending.kvs.length > 0) return follow(deps, ref, id, BigInt(record.header.revision), deadlineAt);
    const written = await withDeadline(
      etcd.if(recordKey, 'Mod', '==', kv ? String(kv.mod_revision) : 0).and(requestKey, 'Create', '==', 0)
        .then(etcd.put(requestKey).value(JSON.stringify(request))).commit(),
      CALL_MS,
    );
    if (written.succeeded) return follow(deps, ref, id, BigInt(written.header.revision), deadlineAt);
  }
}

/** Waits for the record to list `id` in a terminal state, watching from `revision` + 1 (the record may change often). */
async function follow(deps: FollowDeps, ref: ProductRef, id: string, revision: bigint, deadlineAt: number): Promise<RolloutOutcome> {
  const { etcd, keys } = deps;
  const now = deps.now ?? Date.now;
  const key = keys.rollouts(ref.type, ref.product);
  const current = parseRecord((await withDeadline(etcd.get(key).exec(), CALL_MS)).kvs[0]);
  if (current && isTerminal(current.state) && current.requests.includes(id)) return answer(current);
  let watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    const ended = await new Promise<RolloutRecord | undefined>((resolve, reject) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadlineAt - now()));
      stop = () => resolve(undefined);
      if (deps.signal?.aborted) stop();
      deps.signal?.addEventListener('abort', stop, { once: true });
      etcd.watch().key(key).startRevision(String(revision + 1n)).create().then((w) => {
        watcher = w;
        w.on('put', (kv) => {
          const record = parseRecord(kv);
          if (record && isTerminal(record.state) && record.requests.includes(id)) resolve(record);
        });
        // a compacted start revision: the record as it is now still answers, unless a later rollout replaced it
        w.on('error', () => {
          void withDeadline(etcd.get(key).exec(), CALL_MS).then((r) => {
            const record = parseRecord(r.kvs[0]);
            if (record && isTerminal(record.state) && record.requests.includes(id)) resolve(record);
          }, () => undefined);
        });
      }, reject);
    });
    if (ended) return answer(ended);
  } finally {
    clearTimeout(timer);
    if (stop) deps.signal?.removeEventListener('abort', stop);
    await watcher?.cancel().catch(() => undefined);
  }
  throw await stillGoing(deps, ref, id);
}

/** The reply for a record that answers a request. */
function answer(record: RolloutRecord): RolloutOutcome {
  const { product, from, to } = record;
  if (record.state === 'SUCCEEDED') return { from, to, instances: Object.keys(record.instances) };
  const where = record.host ? ` on ${record.host}` : '';
  if (record.cause === 'refused') {
    const reason = record.reason ?? 'refused';
    throw new WorkerAdminError(errorCodeOf(reason) ?? 'UPDATE_FAILED', explanationOf(reason), { details: { rolloutId: record.id } });
  }
  if (record.state === 'ROLLBACK_FAILED') {
    throw new WorkerAdminError('UPDATE_FAILED', `${product} ${from} → ${to} failed${where}: ${record.reason ?? ''} (not rolled back everywhere: see \`worker-admin fleet status\`)`, { details: { rolloutId: record.id } });
  }
  const back = `(rolled back: ${from} keeps serving)`;
  if (record.cause === 'abort') throw new WorkerAdminError('UPDATE_ABORTED', `${product} ${from} → ${to} was ${record.reason ?? 'aborted'} ${back}`, { details: { rolloutId: record.id } });
  throw new WorkerAdminError('UPDATE_FAILED', `${product} ${from} → ${to} failed${where}: ${record.reason ?? 'unknown reason'} ${back}`, { details: { rolloutId: record.id } });
}

/** TIMEOUT naming the rollout that goes on, or what the request waits behind. */
async function stillGoing(deps: FollowDeps, ref: ProductRef, id: string): Promise<WorkerAdminError> {
  const product = productKey(ref);
  const record = parseRecord((await withDeadline(deps.etcd.get(deps.keys.rollouts(ref.type, ref.product)).exec(), CALL_MS).catch(() => undefined))?.kvs[0]);
  if (record?.requests.includes(id)) {
    if (isTerminal(record.state)) return new WorkerAdminError('TIMEOUT', `${product}: rollout ${record.id} ended ${record.state} as the command's time ran out`);
    const where = record.state === 'ROLLING_BACK' ? 'rolling back' : `${record.state}, batch ${record.batch + 1} of ${record.batches.length}`;
    return new WorkerAdminError('TIMEOUT', `${product} ${record.from} → ${record.to}: rollout ${record.id} goes on (${where}); \`worker-admin fleet status\` shows it`, { details: { rolloutId: record.id, request: id } });
  }
  const behind = record && !isTerminal(record.state) ? ` behind rollout ${record.id} (${record.from} → ${record.to}, ${record.state})` : ' for the coordinator';
  return new WorkerAdminError('TIMEOUT', `${product}: rollout request ${id} still waits${behind}; it runs when its turn comes`, { details: { request: id } });
}

/** The product's current or last rollout record. */
async function readRollout(deps: FollowDeps, ref: ProductRef): Promise<RolloutRecord | undefined> {
  return parseRecord((await withDeadline(deps.etcd.get(deps.keys.rollouts(ref.type, ref.product)).exec(), CALL_MS)).kvs[0]);
}

/** What `fleet rollout pause|resume|abort` replies. */
interface ControlOutcome {
  product: string;
  action: RolloutControl['action'];
  rolloutId: string;
  /** The record's state once the coordinator took the action (or as it was when `waitMs` ran out). */
  state: string;
  /** False when the coordinator had not taken the action within `waitMs`. */
  taken: boolean;
}

/** Writes K/rollout-control for the rollout in progress and waits (at most `waitMs`) for the coordinator to take it. */
export async function controlRollout(deps: FollowDeps, ref: ProductRef, action: RolloutControl['action'], by: string, waitMs: number): Promise<ControlOutcome> {
  const { etcd, keys } = deps;
  const product = productKey(ref);
  const record = await readRollout(deps, ref);
  if (!record || isTerminal(record.state)) {
    throw new WorkerAdminError('NOT_FOUND', `no rollout of ${product} in progress${record ? ` (the last one, ${record.id}, ended ${record.state})` : ''}`);
  }
  const key = keys.rolloutControl(ref.type, ref.product);
  const value: RolloutControl = { action, at: (deps.now ?? Date.now)(), by };
  const put = await withDeadline(etcd.put(key).value(JSON.stringify(value)).exec(), CALL_MS);
  const taken = await waitDeleted(etcd, key, BigInt(put.header.revision), waitMs);
  const after = (await readRollout(deps, ref)) ?? record;
  return { product, action, rolloutId: after.id, state: after.state, taken };
}

/** True once `key` is deleted after `revision`; false after `ms`. */
async function waitDeleted(etcd: Etcd3, key: string, revision: bigint, ms: number): Promise<boolean> {
  let watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<boolean>((resolve, reject) => {
      timer = setTimeout(() => resolve(false), ms);
      etcd.watch().key(key).startRevision(String(revision + 1n)).create().then((w) => {
        watcher = w;
        w.on('delete', () => resolve(true));
      }, reject);
    });
  } finally {
    clearTimeout(timer);
    await watcher?.cancel().catch(() => undefined);
  }
}
