// The batches of a rollout within one coordinator pass (docs/fleet.md, a rollout: batches, failure): move a batch,
// judge it, go on or roll back. The runner stores the record these return with the changes they add.
import { judgeMoving, judgeReverting, placedAt, type Verdict } from './health.js';
import { applyEvent, pendingInstance } from './machine.js';
import type { RolloutView } from './ports.js';
import type { RolloutInstance, RolloutRecord } from './types.js';
import { splitProduct, type Change, type PassState } from './writes.js';

/** Sets the version of every pending instance of the record's current batch to `to`; they are moving from now on. */
export function moveBatch(record: RolloutRecord, state: PassState, change: Change): RolloutRecord {
  const current = state.current();
  const instances = { ...record.instances };
  for (const identifier of record.batches[record.batch] ?? []) {
    const instance = instances[identifier];
    if (instance?.state !== 'pending') continue;
    const placed = placedAt(current, identifier);
    if (!placed) {
      instances[identifier] = { ...instance, state: 'healthy' }; // scaled down: nothing to move
      continue;
    }
    change.setVersion(placed.host, identifier, record.to);
    instances[identifier] = moved(instance, placed.host, state.view, identifier, 'moving');
  }
  return { ...record, instances };
}

/** An instance whose assignment was just set on `host`: its clocks and baselines start again. */
function moved(instance: RolloutInstance, host: string, view: RolloutView, identifier: string, to: 'moving' | 'reverting'): RolloutInstance {
  const report = view.reports.get(host);
  const line = report?.incarnation === view.hosts.get(host)?.incarnation ? report?.instances.find((i) => i.identifier === identifier) : undefined;
  return {
    ...instance, host, state: to, movedAt: view.now, incarnation: view.hosts.get(host)?.incarnation ?? null,
    error: line?.error ?? null, restarts: null, readySince: null, readyAt: null,
  };
}

/** Judges the batch in progress; on a failure starts the rollback, when healthy starts the next batch or ends. */
export function checkBatch(stored: RolloutRecord, state: PassState, change: Change, startTimeoutMs: number): RolloutRecord {
  const now = state.view.now;
  const record = moveBatch(stored, state, change); // an identifier a scale-up added to the batch in progress
  const instances = { ...record.instances };
  let failure: Extract<Verdict, { kind: 'failed' }> | undefined;
  for (const identifier of record.batches[record.batch] ?? []) {
    const instance = instances[identifier];
    if (!instance || instance.state !== 'moving') continue;
    const verdict = judgeMoving(record, identifier, instance, state.current(), startTimeoutMs);
    if (verdict.kind === 'failed') {
      instances[identifier] = { ...instance, state: 'failed' };
      failure ??= verdict;
    } else if (verdict.kind === 'reassign') {
      change.setVersion(verdict.host, identifier, record.to);
      instances[identifier] = moved(instance, verdict.host, state.view, identifier, 'moving');
    } else {
      instances[identifier] = { ...instance, ...verdict.patch, ...(verdict.kind === 'done' ? { state: 'healthy' as const } : {}) };
    }
  }
  let next: RolloutRecord = { ...record, instances };
  if (failure) return applyEvent(next, { type: 'fail', cause: 'failure', reason: failure.reason, host: failure.host }, now);
  const batchDone = (next.batches[next.batch] ?? []).every((id) => next.instances[id]?.state === 'healthy');
  if (!batchDone || next.state === 'PAUSED') return next;
  next = applyEvent(next, { type: 'advance' }, now);
  return next.state === 'SUCCEEDED' ? next : moveBatch(next, state, change);
}

/** Puts every moved instance back on its `from` and waits for it READY; ends ROLLED_BACK or ROLLBACK_FAILED. */
export function rollBack(record: RolloutRecord, state: PassState, change: Change, startTimeoutMs: number): RolloutRecord {
  const now = state.view.now;
  const instances = { ...record.instances };
  let revertFailure: string | undefined;
  for (const [identifier, instance] of Object.entries(instances)) {
    if (instance.state === 'moving' || instance.state === 'healthy' || instance.state === 'failed') {
      const placed = placedAt(state.current(), identifier);
      if (!placed) {
        instances[identifier] = { ...instance, state: 'reverted' };
        continue;
      }
      change.setVersion(placed.host, identifier, instance.from);
      instances[identifier] = moved(instance, placed.host, state.view, identifier, 'reverting');
      continue;
    }
    if (instance.state !== 'reverting') continue;
    const verdict = judgeReverting(identifier, instance, state.current(), startTimeoutMs);
    if (verdict.kind === 'failed') revertFailure ??= verdict.reason;
    else if (verdict.kind === 'reassign') {
      change.setVersion(verdict.host, identifier, instance.from);
      instances[identifier] = moved(instance, verdict.host, state.view, identifier, 'reverting');
    } else if (verdict.kind === 'done') instances[identifier] = { ...instance, ...verdict.patch, state: 'reverted' };
  }
  const next: RolloutRecord = { ...record, instances };
  if (revertFailure === undefined && Object.values(instances).some((i) => i.state === 'reverting')) return next;
  return revertFailure === undefined ? applyEvent(next, { type: 'reverted' }, now) : applyEvent(next, { type: 'revert-failed', reason: revertFailure }, now);
}

/**
 * The record after changes meanwhile: identifiers no longer assigned anywhere are dropped; identifiers a scale-up added
 * on a live host (with another version than `to`) join the last batch, unless the rollout is rolling back.
 */
export function reconcile(record: RolloutRecord, view: RolloutView): RolloutRecord {
  const [type, name] = splitProduct(record.product);
  const placed = new Map<string, { host: string; version: string; n: number }>();
  for (const [host, a] of view.assignments) {
    for (const i of a.value.instances) if (i.type === type && i.product === name) placed.set(i.identifier, { host, version: i.version, n: i.n });
  }
  const instances = Object.fromEntries(Object.entries(record.instances).filter(([id]) => placed.has(id)));
  // batches up to the one in progress keep their places (its index stays right); a later one left empty goes
  const batches = record.batches.map((b) => b.filter((id) => id in instances)).filter((b, i) => i <= record.batch || b.length > 0);
  if (record.state !== 'ROLLING_BACK') {
    const joined = [...placed].filter(([id, p]) => !(id in instances) && p.version !== record.to && view.hosts.has(p.host)).sort(([, a], [, b]) => a.n - b.n);
    for (const [id, p] of joined) instances[id] = pendingInstance(p.host, p.version, record.to);
    if (joined.length > 0) {
      if (batches.length === 0) batches.push([]);
      batches[batches.length - 1]!.push(...joined.map(([id]) => id));
    }
  }
  const same = Object.keys(instances).length === Object.keys(record.instances).length && JSON.stringify(batches) === JSON.stringify(record.batches);
  return same ? record : { ...record, instances, batches };
}

/** A record last written by another coordinator: the batch in flight (or the rollback) is waited for again. */
export function rearm(record: RolloutRecord, now: number): RolloutRecord {
  const instances: Record<string, RolloutInstance> = {};
  for (const [id, i] of Object.entries(record.instances)) {
    instances[id] = i.state === 'moving' || i.state === 'reverting' ? { ...i, movedAt: now, readyAt: null } : i;
  }
  return { ...record, instances, batchStartedAt: now };
}

