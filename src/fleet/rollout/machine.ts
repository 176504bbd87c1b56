// The rollout record's lifecycle (docs/fleet.md, a rollout): states, the events that move it, and the guards. Pure: the
// runner decides when an event happens and stores the record this returns.
import { WorkerAdminError } from '../../common/errors.js';
import { TERMINAL_ROLLOUT_STATES, type RolloutCause, type RolloutInstance, type RolloutRecord, type RolloutState, type RolloutTrigger } from './types.js';

export type RolloutEvent =
  /** The first batch begins (the canary batch when there is one). */
  | { type: 'begin' }
  /** Nothing to move: done at once. */
  | { type: 'nothing' }
  /** The batch in progress is healthy: the next one begins, or the rollout succeeded after the last. */
  | { type: 'advance' }
  | { type: 'pause' }
  | { type: 'resume' }
  /** An instance failed, someone aborted, or the request cannot be served: every moved instance goes back. */
  | { type: 'fail'; cause: RolloutCause; reason: string; host: string | null }
  /** Every moved instance is back on `from`. */
  | { type: 'reverted' }
  /** Putting one back failed too. */
  | { type: 'revert-failed'; reason: string };

const ACTIVE: readonly RolloutState[] = ['CANARY', 'BATCH'];

/** From which states each event is allowed. */
const ALLOWED: Record<RolloutEvent['type'], readonly RolloutState[]> = {
  begin: ['PENDING'],
  nothing: ['PENDING'],
  advance: ACTIVE,
  pause: ACTIVE,
  resume: ['PAUSED'],
  fail: ['PENDING', 'CANARY', 'BATCH', 'PAUSED'],
  reverted: ['ROLLING_BACK'],
  'revert-failed': ['ROLLING_BACK'],
};

/** True when the rollout has ended (its requests are answered). */
export function isTerminal(state: RolloutState): boolean {
  return TERMINAL_ROLLOUT_STATES.includes(state);
}

/** True when `event` may happen in `state`. */
export function canApply(state: RolloutState, event: RolloutEvent['type']): boolean {
  return ALLOWED[event].includes(state);
}

/** The record after `event`; STATE_INVALID when the event is not allowed in the record's state. */
export function applyEvent(record: RolloutRecord, event: RolloutEvent, now: number): RolloutRecord {
  if (!canApply(record.state, event.type)) {
    throw new WorkerAdminError('STATE_INVALID', `rollout ${record.id} of ${record.product}: ${event.type} is not allowed in ${record.state}`);
  }
  switch (event.type) {
    case 'begin':
      return { ...record, state: record.canary > 0 ? 'CANARY' : 'BATCH', batch: 0, batchStartedAt: now };
    case 'nothing':
      return { ...record, state: 'SUCCEEDED', endedAt: now };
    case 'advance':
      return record.batch + 1 < record.batches.length
        ? { ...record, state: 'BATCH', batch: record.batch + 1, batchStartedAt: now }
        : { ...record, state: 'SUCCEEDED', endedAt: now };
    case 'pause':
      return { ...record, state: 'PAUSED', pausedFrom: record.state };
    case 'resume':
      return { ...record, state: record.pausedFrom ?? 'BATCH', pausedFrom: null };
    case 'fail':
      return { ...record, state: 'ROLLING_BACK', pausedFrom: null, cause: event.cause, reason: event.reason, host: event.host, batchStartedAt: now };
    case 'reverted':
      return { ...record, state: 'ROLLED_BACK', endedAt: now };
    case 'revert-failed':
      return { ...record, state: 'ROLLBACK_FAILED', endedAt: now, reason: `${record.reason ?? 'rolled back'}; putting back failed: ${event.reason}` };
  }
}

/** The canary batch (when `canary` > 0), then groups of `maxParallel`, in the order given. */
export function planBatches(identifiers: readonly string[], canary: number, maxParallel: number): string[][] {
  const batches: string[][] = [];
  const first = Math.min(Math.max(0, canary), identifiers.length);
  if (first > 0) batches.push(identifiers.slice(0, first));
  const size = Math.max(1, maxParallel);
  for (let i = first; i < identifiers.length; i += size) batches.push(identifiers.slice(i, i + size));
  return batches;
}

interface NewRollout {
  id: string;
  product: string;
  from: string;
  to: string;
  trigger: RolloutTrigger;
  canary: number;
  maxParallel: number;
  minHealthyMs: number;
  /** The instances to move, in batch order: identifier → host and version now. */
  instances: ReadonlyArray<{ identifier: string; host: string; version: string }>;
  requests: string[];
}

/** An instance a rollout has not moved yet, on `host` with version `from`. */
export function pendingInstance(host: string, from: string, to: string): RolloutInstance {
  return { host, from, to, state: 'pending', movedAt: null, incarnation: null, error: null, restarts: null, readySince: null, readyAt: null };
}

/** A PENDING record: every instance pending, batches planned. */
export function newRollout(spec: NewRollout, now: number): RolloutRecord {
  const instances: Record<string, RolloutInstance> = {};
  for (const i of spec.instances) instances[i.identifier] = pendingInstance(i.host, i.version, spec.to);
  return {
    id: spec.id, product: spec.product, from: spec.from, to: spec.to, state: 'PENDING', pausedFrom: null, trigger: spec.trigger,
    canary: spec.canary, maxParallel: spec.maxParallel, minHealthyMs: spec.minHealthyMs,
    batches: planBatches(spec.instances.map((i) => i.identifier), spec.canary, spec.maxParallel),
    batch: 0, instances, requests: spec.requests, reason: null, host: null, cause: null, batchStartedAt: null, term: null,
    startedAt: now, endedAt: null,
  };
}
