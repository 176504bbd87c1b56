// A clock that moves only when told: schedules, restart delays and drain timeouts run when the test says.
import type { Clock } from '../../src/common/clock.js';

/** A clock that moves only when told: sleeps resolve when `advance` passes their time. */
export class ManualClock implements Clock {
  private sleepers: Array<{ at: number; resolve: () => void }> = [];

  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const sleeper = { at: this.time + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal.reason as Error);
      }, { once: true });
    });
  }

  /** How many sleeps wait (a scheduler waiting for its next run counts one). */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Moves time forward and wakes every sleep that is due, in time order. */
  advance(ms: number): void {
    this.time += ms;
    const due = this.sleepers.filter((s) => s.at <= this.time).sort((a, b) => a.at - b.at);
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    for (const s of due) s.resolve();
  }
}

/** Lets promise chains woken by a clock move (a scheduler's loop, its task) run before the test looks. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
