// The one scheduler, driven by a ManualClock: cron plans fire at each matching minute, interval plans every `ms` from
// the previous run, a clock jump fires once, cancel stops, a failing task is reported and the schedule goes on.
import { describe, expect, it } from 'vitest';
import { parseUpdateAt } from '../../src/common/cron.js';
import { createScheduler } from '../../src/common/scheduler.js';
import { ManualClock, settle } from '../helpers/clock.js';

const at = (y: number, mo: number, d: number, h = 0, mi = 0): number => new Date(y, mo - 1, d, h, mi).getTime();

describe('scheduler', () => {
  it('runs a cron task at each matching minute as the clock moves, once for a jump, and stops when cancelled', async () => {
    const clock = new ManualClock(at(2030, 1, 1, 0, 0) + 30_000);
    const runs: number[] = [];
    const task = createScheduler(clock).schedule({ kind: 'cron', expression: '*/5 * * * *' }, () => {
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

  it('HH:MM is the next such local time: midnight is tomorrow 00:00, a time already past today waits for tomorrow', () => {
    const clock = new ManualClock(at(2030, 1, 1, 12, 0) + 30_000);
    const scheduler = createScheduler(clock);
    const plan = (value: string) => ({ kind: 'cron' as const, expression: parseUpdateAt(value, 'at') });
    const tasks = [scheduler.schedule(plan('00:00'), () => undefined), scheduler.schedule(plan('11:58'), () => undefined), scheduler.schedule(plan('12:01'), () => undefined)];
    expect(tasks.map((t) => t.nextRun())).toEqual([at(2030, 1, 2, 0, 0), at(2030, 1, 2, 11, 58), at(2030, 1, 1, 12, 1)]);
    for (const t of tasks) t.cancel();
  });

  it('runs an interval task every `ms` counted from the previous run, skipping the times a slow run covered', async () => {
    const clock = new ManualClock(at(2030, 1, 1));
    const runs: number[] = [];
    let release: (() => void) | undefined;
    const task = createScheduler(clock).schedule({ kind: 'every', ms: 90_000 }, async () => {
      runs.push(clock.now());
      if (runs.length === 2) await new Promise<void>((resolve) => { release = resolve; });
    });
    expect(task.nextRun()).toBe(at(2030, 1, 1) + 90_000);
    clock.advance(89_999);
    await settle();
    expect(runs).toEqual([]);
    clock.advance(1);
    await settle();
    expect(runs).toEqual([at(2030, 1, 1) + 90_000]);
    expect(task.nextRun()).toBe(at(2030, 1, 1) + 180_000);
    clock.advance(90_000);
    await settle();
    expect(runs).toHaveLength(2); // the second run now hangs: no run overlaps it
    clock.advance(200_000);
    await settle();
    expect(runs).toHaveLength(2);
    release?.();
    await settle();
    // It ran at 180 s and ended at 380 s: 270 s and 360 s are gone, the next is 450 s.
    expect(task.nextRun()).toBe(at(2030, 1, 1) + 450_000);
    task.cancel();
  });

  it('a failing task is reported and the schedule goes on', async () => {
    const clock = new ManualClock(at(2030, 1, 1));
    const errors: unknown[] = [];
    let calls = 0;
    const task = createScheduler(clock, (e) => errors.push(e)).schedule({ kind: 'cron', expression: '* * * * *' }, async () => {
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

  it('refuses a bad plan naming what is wrong', () => {
    const scheduler = createScheduler(new ManualClock(0));
    expect(() => scheduler.schedule({ kind: 'cron', expression: '*/5 * * * * *' }, () => undefined)).toThrow(/has 6 fields: seconds are not supported/);
    expect(() => scheduler.schedule({ kind: 'cron', expression: '0 3 L * *' }, () => undefined)).toThrow(/day of month field "L" uses "L"/);
    expect(() => scheduler.schedule({ kind: 'every', ms: 0 }, () => undefined)).toThrow(/interval 0 ms must be above 0/);
  });
});
