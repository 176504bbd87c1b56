// The per-worker output rate limit on a hand-driven clock: burst, refill at the rate, one `N lines dropped` per interval;
// the output hub behind it: what passes reaches the file, the tail and followers, and the tail stays bounded.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logFilePath } from '../../src/process/logs.js';
import { TAIL_CHARS, TAIL_LINES, WorkerOutputHub } from '../../src/process/output-hub.js';
import { defaultLimiterClock, OutputRateLimiter } from '../../src/process/rate-limit.js';
import { TailRing } from '../../src/process/tail-ring.js';
import { ManualClock } from '../helpers/clock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('output rate limit', () => {
  it('lets a burst through, then the rate; the excess is dropped and reported once per interval', async () => {
    const clock = new ManualClock(0);
    const reports: number[] = [];
    const limiter = new OutputRateLimiter({ rate: 100, burst: 50, reportIntervalMs: 5000 }, (n) => reports.push(n), clock);
    const offer = (n: number): number => Array.from({ length: n }, () => limiter.admit()).filter(Boolean).length;
    expect(offer(80)).toBe(50); // the burst
    expect(limiter.pending).toBe(30);
    clock.advance(100); // 100 lines/s × 0.1 s
    expect(offer(80)).toBe(10);
    expect(reports).toEqual([]); // one report per interval, not one per drop
    clock.advance(4900);
    await settle();
    expect(reports).toEqual([100]); // 30 + 70 dropped in the interval
    // 4.9 s refilled the bucket up to the burst (not beyond).
    expect(offer(60)).toBe(50);
    clock.advance(5000);
    await settle();
    expect(reports).toEqual([100, 10]);
    // A quiet worker is never reported.
    clock.advance(60_000);
    expect(offer(10)).toBe(10);
    await settle();
    expect(reports).toEqual([100, 10]);
    // Closing reports what is pending at once.
    offer(100);
    limiter.close();
    expect(reports.at(-1)).toBeGreaterThan(0);
  });

  it('reads the real time once per synchronous run (a chunk of output is admitted line by line within one)', async () => {
    const now = vi.spyOn(Date, 'now');
    try {
      now.mockReturnValue(1_000);
      expect(defaultLimiterClock.now()).toBe(1_000);
      now.mockReturnValue(2_000); // time moves, the same run goes on: one reading serves every line of the chunk
      expect(defaultLimiterClock.now()).toBe(1_000);
      expect(now).toHaveBeenCalledTimes(1);
      await Promise.resolve(); // the run ended: the next one reads the clock again
      expect(defaultLimiterClock.now()).toBe(2_000);
      expect(now).toHaveBeenCalledTimes(2);
    } finally {
      now.mockRestore();
    }
  });

  it('the hub writes what passes to the run file, the tail and followers, plus one "N lines dropped" line', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-hub-'));
    dirs.push(stateDir);
    const clock = new ManualClock(0);
    const hub = new WorkerOutputHub({ stateDir, mode: 'development', rate: 10, burst: 5, reportIntervalMs: 1000, clock });
    const drops: Array<[string, number]> = [];
    hub.onDropped((ref, n) => drops.push([ref.product, n]));
    const followed: string[] = [];
    const stop = hub.follow('w', (line) => followed.push(`${line.version} ${line.stream} ${line.text}`));
    const sink = hub.openRun({ identifier: 'w', version: '1.0', product: 'utils/echo' });
    for (let i = 1; i <= 8; i += 1) if (sink.admit()) sink.line('stdout', `line ${i}`);
    clock.advance(1000);
    await settle();
    if (sink.admit()) sink.line('stderr', 'after');
    sink.closed();
    stop();
    expect(followed).toEqual(['1.0 stdout line 1', '1.0 stdout line 2', '1.0 stdout line 3', '1.0 stdout line 4', '1.0 stdout line 5', '1.0 stderr 3 lines dropped', '1.0 stderr after']);
    expect(drops).toEqual([['utils/echo', 3]]);
    expect(hub.dropped).toBe(3);
    expect(hub.tail('w', 2).map((l) => l.text)).toEqual(['3 lines dropped', 'after']);
    await expect.poll(() => readFileSync(logFilePath(stateDir, 'w', 1), 'utf8')).toMatch(/stderr after\n$/);
    const file = readFileSync(logFilePath(stateDir, 'w', 1), 'utf8').trim().split('\n');
    expect(file[0]).toBe('# worker-admin identifier=w version=1.0 run=1');
    expect(file.slice(1).map((l) => l.replace(/^\S+ /, ''))).toEqual(followed.map((l) => l.slice(4)));
  });

  it('keeps a tail of at most TAIL_LINES lines and TAIL_CHARS characters', () => {
    const ring = new TailRing(TAIL_LINES, TAIL_CHARS);
    const line = (text: string) => ({ at: '', identifier: 'w', version: '1.0', run: 1, stream: 'stdout' as const, text });
    for (let i = 0; i < 5000; i += 1) ring.push(line(`short ${i}`));
    expect(ring.size).toBe(TAIL_LINES);
    expect(ring.last(1)[0]!.text).toBe('short 4999');
    expect(ring.last(TAIL_LINES)[0]!.text).toBe(`short ${5000 - TAIL_LINES}`);
    for (let i = 0; i < 100; i += 1) ring.push(line('y'.repeat(16_384)));
    expect(ring.size).toBeLessThanOrEqual(Math.floor(TAIL_CHARS / 16_384));
    expect(ring.last(TAIL_LINES).reduce((n, l) => n + l.text.length, 0)).toBeLessThanOrEqual(TAIL_CHARS);
  });
});
