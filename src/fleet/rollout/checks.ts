// The fleet's automatic update checks (docs/fleet.md, a rollout): auto mode every `interval`, planned mode at each
// time its `at` names, run by the coordinator once for the whole fleet. A due check writes an auto / planned request
// (the runner then rolls out a newer version in range, skipping failed ones, or drops it); when it last ran is kept in
// K/running (`checkedAt`), so a new coordinator neither repeats nor makes up a check.
import { compileCron, nextCronTime, parseUpdateAt } from '../../common/cron.js';
import { effectiveUpdate } from '../desired/types.js';
import type { RunningVersion } from '../placement/types.js';
import { isTerminal } from './machine.js';
import type { RolloutRequest } from './types.js';
import { openRequests } from './answers.js';
import { splitProduct, type Change, type PassState } from './writes.js';

/** Whether a check of the product is due now: `fire` writes a request, `mark` only records when (a first sight). */
function due(update: ReturnType<typeof effectiveUpdate>, running: RunningVersion, now: number): 'fire' | 'mark' | 'no' {
  const last = running.checkedAt;
  if (update.mode === 'auto') return last === undefined || now - last >= update.intervalMs ? 'fire' : 'no';
  if (update.mode !== 'planned' || update.at === undefined) return 'no';
  if (last === undefined) return 'mark'; // planned from now on: the next time `at` names
  let next: number | undefined;
  try {
    next = nextCronTime(compileCron(parseUpdateAt(update.at, 'update.at'), 'update.at'), last);
  } catch {
    return 'no'; // validated when applied; an override written by hand that does not parse checks nothing
  }
  return next !== undefined && next <= now ? 'fire' : 'no';
}

/**
 * Adds to `change` every check due now: its request (unless a rollout of the product is in progress or one of its
 * automatic requests is still pending: that tick is skipped, not made up) and its time in K/running.
 */
export function dueChecks(state: PassState, change: Change): Array<{ product: string; trigger: 'auto' | 'planned' }> {
  const { view } = state;
  const now = view.now;
  const fired: Array<{ product: string; trigger: 'auto' | 'planned' }> = [];
  for (const [product, desired] of view.desired) {
    const running = state.running.get(product)?.value;
    if (!running) continue;
    const update = effectiveUpdate(desired, view.overrides.get(product));
    const verdict = due(update, running, now);
    if (verdict === 'no') continue;
    change.putRunning(product, { ...running, checkedAt: now });
    if (verdict === 'mark') continue;
    const trigger = update.mode === 'planned' ? 'planned' : 'auto';
    const record = state.rollouts.get(product)?.value;
    const busy = (record !== undefined && !isTerminal(record.state))
      || openRequests(product, state).some((r) => !r.value.result && (r.value.trigger === 'auto' || r.value.trigger === 'planned'));
    if (busy) continue;
    const id = `${trigger}-${now.toString(36)}`;
    const request: RolloutRequest = { id, version: undefined, maxParallel: undefined, canary: undefined, minHealthyMs: undefined, trigger, by: 'coordinator', at: now };
    change.put(state.keys.rolloutRequest(...splitProduct(product), id), request, '0');
    fired.push({ product, trigger });
  }
  return fired;
}
