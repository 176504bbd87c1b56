// The node-schedule side of update modes, with the real library: near dates fire, cancel stops them, `HH:MM`
// (midnight included) means the next such local time, and specs node-schedule would take or silently drop are refused.
import { describe, expect, it } from 'vitest';
import { nodeScheduler } from '../../src/admin/update/scheduler.js';
import { parseUpdateAt } from '../../src/config/cron.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The next local time hh:mm strictly after `now` (today, or tomorrow when already past). */
function nextLocal(now: Date, hours: number, minutes: number): Date {
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hours, minutes, 0, 0);
  return today > now ? today : new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, hours, minutes, 0, 0);
}

describe('nodeScheduler', () => {
  it('fires an interval job at near dates, counted from the previous run, until cancelled', async () => {
    const scheduler = nodeScheduler();
    const fired: number[] = [];
    const started = Date.now();
    const job = scheduler.schedule({ kind: 'every', ms: 150 }, () => fired.push(Date.now() - started));
    expect(job.nextRun()!.getTime()).toBeGreaterThan(started);
    // Wait for two runs (a loaded machine delays timers: poll up to a generous deadline instead of a fixed sleep).
    for (const deadline = Date.now() + 15_000; fired.length < 2 && Date.now() < deadline;) await sleep(20);
    job.cancel();
    const seen = fired.length;
    expect(seen).toBeGreaterThanOrEqual(2);
    expect(fired[1]! - fired[0]!).toBeGreaterThanOrEqual(140);
    expect(fired[0]).toBeGreaterThanOrEqual(140);
    expect(job.nextRun()).toBeNull();
    // a witness on the same interval, scheduled after the cancel, runs twice: the cancelled job had that time too
    const witness: number[] = [];
    const other = scheduler.schedule({ kind: 'every', ms: 150 }, () => witness.push(Date.now()));
    for (const deadline = Date.now() + 15_000; witness.length < 2 && Date.now() < deadline;) await sleep(20);
    other.cancel();
    expect(witness.length).toBeGreaterThanOrEqual(2);
    expect(fired.length).toBe(seen);
  });

  it('HH:MM is the next such local time: midnight is tomorrow 00:00, a time already past today waits for tomorrow', () => {
    const scheduler = nodeScheduler();
    const now = new Date();
    const midnight = scheduler.schedule({ kind: 'cron', expression: parseUpdateAt('00:00', 'at') }, () => {});
    expect(midnight.nextRun()).toEqual(nextLocal(now, 0, 0));
    midnight.cancel();
    const earlier = new Date(now.getTime() - 2 * 60_000);
    const at = `${String(earlier.getHours()).padStart(2, '0')}:${String(earlier.getMinutes()).padStart(2, '0')}`;
    const past = scheduler.schedule({ kind: 'cron', expression: parseUpdateAt(at, 'at') }, () => {});
    expect(past.nextRun()).toEqual(nextLocal(now, earlier.getHours(), earlier.getMinutes()));
    past.cancel();
    const cron = scheduler.schedule({ kind: 'cron', expression: '30 4 * * 1' }, () => {});
    const next = cron.nextRun()!;
    expect([next.getDay(), next.getHours(), next.getMinutes()]).toEqual([1, 4, 30]);
    cron.cancel();
  });

  it('refuses what node-schedule would take (6 fields, L) or drop (a bad spec returns null), naming the field', () => {
    const scheduler = nodeScheduler();
    expect(() => scheduler.schedule({ kind: 'cron', expression: '*/5 * * * * *' }, () => {})).toThrow(/has 6 fields: seconds are not supported/);
    expect(() => scheduler.schedule({ kind: 'cron', expression: '0 3 L * *' }, () => {})).toThrow(/day of month field "L" uses "L"/);
    expect(() => scheduler.schedule({ kind: 'cron', expression: '0 25 * * *' }, () => {})).toThrow(/hour field "25" has a bad value/);
    expect(() => scheduler.schedule({ kind: 'every', ms: 0 }, () => {})).toThrow(/interval 0 ms must be above 0/);
  });
});
