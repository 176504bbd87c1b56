// When update checks run: a narrow interface over node-schedule, so tests can fire a planned update without waiting.
import schedule from 'node-schedule';
import { WorkerAdminError } from '../../common/errors.js';
import { cronProblem } from '../../config/cron.js';

/** What to schedule: every `ms` (auto mode) or at each time of a 5-field cron expression in local time (planned). */
export type Plan = { kind: 'every'; ms: number } | { kind: 'cron'; expression: string };

/** A scheduled task: cancel it, or ask when it fires next. */
export interface ScheduledJob {
  cancel(): void;
  nextRun(): Date | null;
}

/** Runs tasks on a plan. The real one is node-schedule; tests inject one they fire by hand. */
export interface Scheduler {
  schedule(plan: Plan, task: () => void): ScheduledJob;
}

/** node-schedule: cron plans as cron jobs, intervals as a chain of one-shot date jobs. */
export function nodeScheduler(now: () => number = Date.now): Scheduler {
  return {
    schedule(plan, task) {
      return plan.kind === 'cron' ? cronJob(plan.expression, task) : everyJob(plan.ms, task, now);
    },
  };
}

function cronJob(expression: string, task: () => void): ScheduledJob {
  // node-schedule accepts 6 fields and "L" and returns null for a bad spec: only checked 5-field expressions get here.
  const problem = cronProblem(expression);
  if (problem) throw new WorkerAdminError('CONFIG_INVALID', `schedule: ${problem}`);
  const job = schedule.scheduleJob(expression, () => task());
  if (job === null) throw new WorkerAdminError('CONFIG_INVALID', `schedule: node-schedule refused the cron expression ${JSON.stringify(expression)}`);
  return { cancel: () => void job.cancel(), nextRun: () => asDate(job.nextInvocation()) };
}

function everyJob(ms: number, task: () => void, now: () => number): ScheduledJob {
  if (!Number.isFinite(ms) || ms <= 0) throw new WorkerAdminError('CONFIG_INVALID', `schedule: interval ${ms} ms must be above 0`);
  let state: { kind: 'waiting'; job: schedule.Job; at: Date } | { kind: 'cancelled' } = { kind: 'cancelled' };
  const run = (): void => {
    if (state.kind === 'cancelled') return;
    arm(); // the next check is counted from this one, whatever the task takes
    task();
  };
  const arm = (): void => {
    let at = new Date(now() + ms);
    let job = schedule.scheduleJob(at, run);
    // node-schedule refuses a date already past: this process stalled longer than `ms` (a loaded machine); count from now
    if (job === null) job = schedule.scheduleJob((at = new Date(now() + ms)), run);
    if (job === null) throw new WorkerAdminError('INTERNAL', `schedule: node-schedule refused the date ${at.toISOString()}`);
    state = { kind: 'waiting', job, at };
  };
  arm();
  return {
    cancel() {
      if (state.kind === 'waiting') state.job.cancel();
      state = { kind: 'cancelled' };
    },
    nextRun: () => (state.kind === 'waiting' ? state.at : null),
  };
}

// node-schedule gives a cron-parser CronDate for cron jobs (typed as Date): normalise to a plain Date.
function asDate(value: { getTime(): number } | null): Date | null {
  return value === null ? null : new Date(value.getTime());
}
