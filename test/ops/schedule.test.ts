// Cron next-time computation (local time) and the clock-driven scheduler, driven by a ManualClock.
import { describe, expect, it } from 'vitest';
import { compileCron, nextCronTime } from '../../src/ops/schedule/cron-next.js';
import { createClockScheduler } from '../../src/ops/schedule/scheduler.js';
import { ManualClock } from './helpers.js';

const at = (y: number, mo: number, d: number, h = 0, mi = 0): number => new Date(y, mo - 1, d, h, mi).getTime();
const next = (expr: string, from: number): string | undefined => {
  const t = nextCronTime(compileCron(expr), from);
  return t === undefined ? undefined : new Date(t).toString();
};

describe('nextCronTime', () => {
  it('steps, lists and ranges, strictly after the given time', () => {
    expect(next('*/5 * * * *', at(2030, 1, 1, 0, 0))).toBe(new Date(at(2030, 1, 1, 0, 5)).toString());
    expect(next('*/5 * * * *', at(2030, 1, 1, 0, 3) + 59_000)).toBe(new Date(at(2030, 1, 1, 0, 5)).toString());
    expect(next('0,30 9-17 * * *', at(2030, 1, 1, 17, 30))).toBe(new Date(at(2030, 1, 2, 9, 0)).toString());
    expect(next('15 3 * * *', at(2030, 1, 1, 3, 15))).toBe(new Date(at(2030, 1, 2, 3, 15)).toString());
    expect(next('10/20 * * * *', at(2030, 1, 1, 0, 31))).toBe(new Date(at(2030, 1, 1, 0, 50)).toString());
  });

  it('month and weekday names, Sunday as 0 or 7', () => {
    // 2030-01-01 is a Tuesday.
    expect(next('0 12 * * mon', at(2030, 1, 1))).toBe(new Date(at(2030, 1, 7, 12)).toString());
    expect(next('0 0 * * 7', at(2030, 1, 1))).toBe(new Date(at(2030, 1, 6)).toString());
    expect(next('0 0 1 mar *', at(2030, 1, 1))).toBe(new Date(at(2030, 3, 1)).toString());
  });

  it('day of month OR day of week when both are restricted (Vixie cron), AND when one is *', () => {
    expect(next('0 0 13 * fri', at(2030, 1, 1))).toBe(new Date(at(2030, 1, 4)).toString()); // Friday the 4th comes before the 13th
    expect(next('0 0 */10 * *', at(2030, 1, 1))).toBe(new Date(at(2030, 1, 11)).toString());
  });

  it('leap days, and undefined for a date that never comes', () => {
    expect(next('0 0 29 2 *', at(2030, 1, 1))).toBe(new Date(at(2032, 2, 29)).toString());
    expect(next('0 0 30 2 *', at(2030, 1, 1))).toBeUndefined();
  });

  it('refuses what config/cron.ts refuses, naming the field', () => {
    expect(() => compileCron('* * * *', 'config.schedule')).toThrow(/^config\.schedule: cron expression "\* \* \* \*" has 4 fields/);
    expect(() => compileCron('61 * * * *', 'config.schedule')).toThrow(/minute field "61" has a bad value/);
  });
});

describe('clock scheduler', () => {
  it('runs a task at each matching minute as the clock moves, and stops when cancelled', async () => {
    const clock = new ManualClock(at(2030, 1, 1, 0, 0) + 30_000);
    const runs: number[] = [];
    const task = createClockScheduler(clock).schedule('*/5 * * * *', async () => {
      runs.push(clock.now());
    });
    expect(task.nextRun()).toBe(at(2030, 1, 1, 0, 5));
    clock.advance(4 * 60_000);
    await settle();
    expect(runs).toEqual([]);
    clock.advance(60_000);
    await settle();
    expect(runs).toEqual([at(2030, 1, 1, 0, 5) + 30_000]);
    expect(task.nextRun()).toBe(at(2030, 1, 1, 0, 10));
    clock.advance(60 * 60_000); // an hour at once: one run, not twelve
    await settle();
    expect(runs).toHaveLength(2);
    task.cancel();
    expect(task.nextRun()).toBeUndefined();
    clock.advance(60 * 60_000);
    await settle();
    expect(runs).toHaveLength(2);
    expect(clock.waiting).toBe(0);
  });

  it('a failing task is reported and the schedule goes on', async () => {
    const clock = new ManualClock(at(2030, 1, 1));
    const errors: unknown[] = [];
    let calls = 0;
    const task = createClockScheduler(clock, (e) => errors.push(e)).schedule('* * * * *', async () => {
      calls += 1;
      throw new Error('boom');
    });
    clock.advance(60_000);
    await settle();
    clock.advance(60_000);
    await settle();
    expect(calls).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom', 'boom']);
    task.cancel();
  });
});

// Lets the scheduler's promise chain run after the clock moved.
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
