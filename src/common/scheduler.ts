// The one scheduler: update checks (auto, planned) and ops policies run on it, so one expression has one next time.
// It sleeps on an injectable clock: the real one uses timers, tests fire a schedule by moving a manual clock.
import { compileCron, nextCronTime, type CronMatcher } from './cron.js';
import { systemClock, type Clock } from './clock.js';
import { WorkerAdminError } from './errors.js';

// Timers overflow past 24.8 days and a yearly expression is further away than that: sleeps go in slices.
const MAX_SLEEP_MS = 86_400_000;

/** When to run: every `ms` (counted from the previous run) or at each minute a 5-field cron expression matches (local time). */
type Plan = { kind: 'every'; ms: number } | { kind: 'cron'; expression: string };

/** A task on a schedule. */
export interface ScheduledTask {
  /** When it fires next (epoch ms); undefined once cancelled or when the expression never matches again. */
  nextRun(): number | undefined;
  /** Stops it; a run in progress finishes. Idempotent. */
  cancel(): void;
}

/** Runs tasks on plans; runs of one task never overlap (a slow run skips the times it covered). */
export interface Scheduler {
  schedule(plan: Plan, task: () => Promise<void> | void): ScheduledTask;
  /** The time on its clock (a task that asks which schedule time is due reads the clock its schedule runs on). */
  now(): number;
}

/** A scheduler on `clock`: computes the next time, sleeps until it, runs, repeats. A task's error goes to `onError`. */
export function createScheduler(clock: Clock = systemClock, onError: (error: unknown) => void = () => undefined): Scheduler {
  return {
    now: () => clock.now(),
    schedule(plan, task) {
      const following = nextTimes(plan);
      const abort = new AbortController();
      let next = following(clock.now());
      const loop = async (): Promise<void> => {
        while (next !== undefined && !abort.signal.aborted) {
          try {
            while (clock.now() < next) await clock.sleep(Math.min(next - clock.now(), MAX_SLEEP_MS), abort.signal);
          } catch {
            return; // cancelled while waiting
          }
          // A clock moved far ahead fires once, not once per missed time.
          const firedAt = Math.max(clock.now(), next);
          try {
            await task();
          } catch (error) {
            onError(error);
          }
          next = following(Math.max(firedAt, clock.now()), firedAt);
        }
      };
      void loop();
      return {
        nextRun: () => (abort.signal.aborted ? undefined : next),
        cancel: () => abort.abort(new Error('schedule cancelled')),
      };
    },
  };
}

// The next time of a plan strictly after `after`; an interval counts from the last run (`from`), skipping times already past.
function nextTimes(plan: Plan): (after: number, from?: number) => number | undefined {
  if (plan.kind === 'cron') {
    const matcher: CronMatcher = compileCron(plan.expression);
    return (after) => nextCronTime(matcher, after);
  }
  const { ms } = plan;
  if (!Number.isFinite(ms) || ms <= 0) throw new WorkerAdminError('CONFIG_INVALID', `schedule: interval ${ms} ms must be above 0`);
  return (after, from = after) => from + ms * (Math.floor((after - from) / ms) + 1);
}
