// Cron schedules behind a narrow interface: the real one sleeps on an injectable clock, so tests fire a policy by moving time.
import type { Clock } from '../../admin/ports.js';
import { compileCron, nextCronTime } from './cron-next.js';

const MAX_SLEEP_MS = 86_400_000;

/** A task on a schedule. */
export interface ScheduledTask {
  /** When it fires next (epoch ms), undefined once cancelled or when the expression never matches again. */
  nextRun(): number | undefined;
  /** Stops it; a run in progress finishes. Idempotent. */
  cancel(): void;
}

/** Runs tasks on 5-field cron expressions. */
export interface Scheduler {
  /** Runs `task` at each time `cron` matches; runs never overlap (a slow run skips the times it covered). */
  schedule(cron: string, task: () => Promise<void>): ScheduledTask;
}

/** A scheduler on `clock`: computes the next matching minute, sleeps until it, runs, repeats. */
export function createClockScheduler(clock: Clock, onError: (error: unknown) => void = () => undefined): Scheduler {
  return {
    schedule(cron, task) {
      const matcher = compileCron(cron);
      const abort = new AbortController();
      let next = nextCronTime(matcher, clock.now());
      const loop = async (): Promise<void> => {
        while (next !== undefined && !abort.signal.aborted) {
          try {
            // In slices: timers overflow past 24.8 days, and a yearly expression is further away than that.
            while (clock.now() < next) await clock.sleep(Math.min(next - clock.now(), MAX_SLEEP_MS), abort.signal);
          } catch {
            return; // cancelled while waiting
          }
          // A clock moved far ahead fires once, not once per missed minute.
          const firedAt = Math.max(clock.now(), next);
          await task().catch(onError);
          next = nextCronTime(matcher, Math.max(firedAt, clock.now()));
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
