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
import type { RolloutControl, RolloutRecord, RolloutRequest, RolloutResult, RolloutTrigger } from './types.js';

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

/** A key's JSON value, or undefined (absent, or not JSON). */
function parsed<T>(kv: IKeyValue | undefined): T | undefined {
  if (!kv) return undefined;
  try {
    return JSON.parse(kv.value.toString()) as T;
  } catch {
    return undefined;
  }
}

const parseRecord = (kv: IKeyValue | undefined): RolloutRecord | undefined => parsed<RolloutRecord>(kv);
const parseRequest = (kv: IKeyValue | undefined): RolloutRequest | undefined => parsed<RolloutRequest>(kv);

/**
 * Writes a rollout request (unless one with this id is already there: then it is followed, never written twice) and
 * waits until the coordinator writes its result: the outcome, or UPDATE_FAILED / UPDATE_ABORTED / the refusal's own
 * code; the request is then deleted. At `deadlineAt`: TIMEOUT saying the rollout goes on (or waits), naming it.
 */
export async function requestRollout(deps: FollowDeps, ref: ProductRef, ask: RolloutAsk, deadlineAt: number): Promise<RolloutOutcome> {
  const { etcd, keys } = deps;
  const id = ask.id ?? randomUUID();
  const key = keys.rolloutRequest(ref.type, ref.product, id);
  const request: RolloutRequest = {
    id, version: ask.version, maxParallel: ask.maxParallel, canary: ask.canary, minHealthyMs: ask.minHealthyMs,
    trigger: ask.trigger, by: ask.by, at: (deps.now ?? Date.now)(),
  };
  // create-if-absent; when it is there already (a command sent again to follow it), its current value answers
  const written = await withDeadline(etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(JSON.stringify(request))).else(etcd.get(key)).commit(), CALL_MS);
  const existing = written.succeeded ? undefined : written.responses[0]?.response_range?.kvs[0];
  const answered = await waitForResult(deps, key, existing, BigInt(written.header.revision), deadlineAt);
  if (!answered) throw await stillGoing(deps, ref, id);
  // replied now: the request is done with (unless it changed meanwhile, which it does not once answered)
  await withDeadline(etcd.if(key, 'Mod', '==', answered.modRevision).then(etcd.delete().key(key)).commit(), CALL_MS).catch(() => undefined);
  return reply(`${ref.type}/${ref.product}`, answered.result);
}

/** The request's result once written, watching from `revision` + 1; undefined at the deadline or when the admin closes. */
async function waitForResult(deps: FollowDeps, key: string, current: IKeyValue | undefined, revision: bigint, deadlineAt: number): Promise<{ result: RolloutResult; modRevision: string } | undefined> {
  const { etcd } = deps;
  const now = deps.now ?? Date.now;
  const answered = parseRequest(current)?.result;
  if (current && answered) return { result: answered, modRevision: String(current.mod_revision) };
  let watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stop: (() => void) | undefined;
  try {
    return await new Promise<{ result: RolloutResult; modRevision: string } | undefined>((resolve, reject) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, deadlineAt - now()));
      stop = () => resolve(undefined);
      if (deps.signal?.aborted) stop();
      deps.signal?.addEventListener('abort', stop, { once: true });
      const seen = (kv: IKeyValue): void => {
        const result = parseRequest(kv)?.result;
        if (result) resolve({ result, modRevision: String(kv.mod_revision) });
      };
      etcd.watch().key(key).startRevision(String(revision + 1n)).create().then((w) => {
        watcher = w;
        w.on('put', seen);
        // a compacted start revision: the key as it is now still answers
        w.on('error', () => {
          void withDeadline(etcd.get(key).exec(), CALL_MS).then((r) => r.kvs[0] && seen(r.kvs[0]), () => undefined);
        });
      }, reject);
    });
  } finally {
    clearTimeout(timer);
    if (stop) deps.signal?.removeEventListener('abort', stop);
    if (watcher) await withDeadline(watcher.cancel(), CALL_MS).catch(() => undefined);
  }
}

/** The reply for a request's result. */
function reply(product: string, result: RolloutResult): RolloutOutcome {
  const { from, to } = result;
  const details = { details: { rolloutId: result.rolloutId } };
  if (result.state === 'SUCCEEDED') return { from, to, instances: result.instances };
  const where = result.host ? ` on ${result.host}` : '';
  if (result.cause === 'refused') {
    const reason = result.reason ?? 'refused';
    throw new WorkerAdminError(errorCodeOf(reason) ?? 'UPDATE_FAILED', explanationOf(reason), details);
  }
  if (result.state === 'ROLLBACK_FAILED') {
    throw new WorkerAdminError('UPDATE_FAILED', `${product} ${from} → ${to} failed${where}: ${result.reason ?? ''} (not rolled back everywhere: see \`worker-admin fleet status\`)`, details);
  }
  const back = `(rolled back: ${from} keeps serving)`;
  if (result.cause === 'abort') throw new WorkerAdminError('UPDATE_ABORTED', `${product} ${from} → ${to} was ${result.reason ?? 'aborted'} ${back}`, details);
  throw new WorkerAdminError('UPDATE_FAILED', `${product} ${from} → ${to} failed${where}: ${result.reason ?? 'unknown reason'} ${back}`, details);
}

/** TIMEOUT naming the rollout that goes on, or what the request waits behind. */
async function stillGoing(deps: FollowDeps, ref: ProductRef, id: string): Promise<WorkerAdminError> {
  const product = productKey(ref);
  const record = parseRecord((await withDeadline(deps.etcd.get(deps.keys.rollouts(ref.type, ref.product)).exec(), CALL_MS).catch(() => undefined))?.kvs[0]);
  if (record?.requests.includes(id)) {
    if (isTerminal(record.state)) return new WorkerAdminError('TIMEOUT', `${product}: rollout ${record.id} ended ${record.state} as the command's time ran out; sent again, it answers`, { details: { rolloutId: record.id, request: id } });
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
  const value: RolloutControl = { action, rolloutId: record.id, at: (deps.now ?? Date.now)(), by };
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
    if (watcher) await withDeadline(watcher.cancel(), CALL_MS).catch(() => undefined);
  }
}
