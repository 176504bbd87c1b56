// How the coordinator answers rollout requests (docs/fleet.md, a rollout: replies): a `result` written into each
// request a terminal record lists, in the same fenced transaction, with the record in the fleet's history.
import { randomBytes } from 'node:crypto';
import type { HistoryEntry } from '../desired/types.js';
import type { Read } from './ports.js';
import type { RolloutRecord, RolloutRequest, RolloutResult } from './types.js';
import { splitProduct, type Change, type PassState } from './writes.js';

/** An answered request no admin deleted is deleted this long after its result. */
const RESULT_KEPT_MS = 3_600_000;

/** The product's requests as this pass read them, less those it already answered or deleted. */
export function openRequests(product: string, state: PassState): Array<Read<RolloutRequest> & { key: string }> {
  return (state.view.requests.get(product) ?? [])
    .map((r) => ({ ...r, key: state.keys.rolloutRequest(...splitProduct(product), r.value.id) }))
    .filter((r) => !state.settled.has(r.key));
}

/**
 * Answers every request `record` lists: a result for the admin that follows it (a command or a rollback), a delete
 * for an automatic check (no one follows it); and the record into the history.
 */
export function answerRequests(record: RolloutRecord, state: PassState, change: Change, by: string): void {
  const now = state.view.now;
  const result: RolloutResult = {
    state: record.state, from: record.from, to: record.to, instances: Object.keys(record.instances), reason: record.reason,
    host: record.host, cause: record.cause, rolloutId: record.id, at: now,
  };
  for (const request of openRequests(record.product, state)) {
    if (!record.requests.includes(request.value.id) || request.value.result) continue;
    const automatic = request.value.trigger === 'auto' || request.value.trigger === 'planned';
    if (automatic) change.delete(request.key, request.modRevision);
    else change.put(request.key, { ...request.value, result } satisfies RolloutRequest, request.modRevision);
  }
  const entry: HistoryEntry = { action: 'rollout', at: now, by, record };
  change.put(state.keys.history(now, randomBytes(4).toString('hex')), entry);
}

/** Deletes the product's requests answered over an hour ago (their admin never came back for them). */
export function expireAnswers(product: string, state: PassState, change: Change): void {
  for (const request of openRequests(product, state)) {
    const result = request.value.result;
    if (result && state.view.now - result.at > RESULT_KEPT_MS) change.delete(request.key, request.modRevision);
  }
}
