// The overlap of a rolling update, decision by decision: the router's worker list (as ListWorkers gives it) read on a
// clock that jumps to the end of each sleep.
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/common/clock.js';
import type { WorkerInfo, WorkerList } from '../../src/proto/types.js';
import { warmUp } from '../../src/admin/update/warm-up.js';

const info = (version: string, served: number, inFlight: number): WorkerInfo => ({
  identifier: 'echo-1', version, type: 'utils', product: 'echo', state: 'READY', commands: ['ECHO'], in_flight: inFlight,
  connected_at_ms: 0, topics: [], admin: false, served,
});

/** A worker list per look (the last one repeats), and a clock that each sleep moves forward. */
function scripted(lists: Array<WorkerInfo[]>, warmupMs = 2000): { deps: Parameters<typeof warmUp>[0]; looks: () => number; elapsed: () => number } {
  let t = 0;
  let looks = 0;
  const clock: Clock = { now: () => t, sleep: async (ms) => void (t += ms) };
  const listWorkers = async (): Promise<WorkerList> => ({ workers: lists[Math.min(looks++, lists.length - 1)] ?? [], queue_size: 0, expected: [] });
  return { deps: { rpc: { listWorkers }, clock, warmupMs }, looks: () => looks, elapsed: () => t };
}

describe('rolling update overlap (warmUp)', () => {
  it('ends once the new version answered 256 commands (the router counts it warm)', async () => {
    const s = scripted([[info('1.0', 5000, 4), info('1.1', 12, 2)], [info('1.0', 5400, 3), info('1.1', 180, 5)], [info('1.0', 5500, 1), info('1.1', 256, 6)]]);
    expect(await warmUp(s.deps, 'echo-1', '1.0', '1.1')).toBe('warm');
    expect(s.looks()).toBe(3);
  });

  it('ends under light traffic: what is in flight fits the new one\'s slow-start room and under 25 replies per 50 ms', async () => {
    const idle = scripted([[info('1.0', 40, 0), info('1.1', 0, 0)]]);
    expect(await warmUp(idle.deps, 'echo-1', '1.0', '1.1')).toBe('light');
    expect(idle.elapsed()).toBe(50);
    // a trickle: 10 replies per look, one command in flight
    const trickle = scripted([[info('1.0', 100, 1), info('1.1', 2, 0)], [info('1.0', 108, 0), info('1.1', 4, 1)]]);
    expect(await warmUp(trickle.deps, 'echo-1', '1.0', '1.1')).toBe('light');
  });

  it('keeps both serving while more is in flight than the new one may hold, or while replies come fast', async () => {
    // 12 in flight (more than the new one's room of 1 + 8/4) at 5 replies per look: not light
    const crowded = Array.from({ length: 100 }, (_, i) => [info('1.0', 500 + 5 * i, 10), info('1.1', 8, 2)]);
    expect(await warmUp(scripted(crowded, 400).deps, 'echo-1', '1.0', '1.1')).toBe('timeout');
    // 1 in flight but 40 replies per look: not light
    const fast = Array.from({ length: 100 }, (_, i) => [info('1.0', 500 + 40 * i, 1), info('1.1', 8, 0)]);
    expect(await warmUp(scripted(fast, 400).deps, 'echo-1', '1.0', '1.1')).toBe('timeout');
  });

  it('ends after timeouts.warmup under traffic that never warms the new version', async () => {
    let served = 0;
    const lists = Array.from({ length: 100 }, () => [info('1.0', (served += 10), 1), info('1.1', 3, 1)]);
    const s = scripted(lists, 300);
    expect(await warmUp(s.deps, 'echo-1', '1.0', '1.1')).toBe('timeout');
    expect(s.elapsed()).toBe(300);
  });

  it('ends at once when a version is gone from the list, when it is off, or for a version re-published in place', async () => {
    expect(await warmUp(scripted([[info('1.1', 0, 0)]]).deps, 'echo-1', '1.0', '1.1')).toBe('gone');
    expect(await warmUp(scripted([[info('1.0', 9, 1), info('1.1', 0, 1)]], 0).deps, 'echo-1', '1.0', '1.1')).toBe('off');
    expect(await warmUp(scripted([[info('1.0', 9, 1)]]).deps, 'echo-1', '1.0', '1.0')).toBe('off');
  });
});
