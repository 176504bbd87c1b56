import { afterEach, describe, expect, it } from 'vitest';
import { startMemorySampler, type MemoryOverage } from '../../src/process/memory.js';
import { groupMembers, isAlive, parseProcStat, processStartTime, readProcStat, rssBytes } from '../../src/process/proc.js';
import { Janitor, runFixture } from './helpers.js';

const janitor = new Janitor();
afterEach(() => janitor.cleanup());

describe('/proc helpers', () => {
  it('parses a stat line whose command holds spaces and parentheses (field 22 is the start time)', () => {
    const fields = ['S', '1', '4242', '4242', ...Array.from({ length: 15 }, (_, i) => String(i + 7)), '98765', '0'];
    expect(parseProcStat(`4242 (my (odd) worker) ${fields.join(' ')}`)).toEqual({ pid: 4242, state: 'S', ppid: 1, pgrp: 4242, startTime: 98765 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('reads start time, group, RSS and liveness of a real process', async () => {
    const run = await runFixture(janitor, 'hang.mjs');
    await run.line((l) => l === 'ready');
    const stat = readProcStat(run.child.pid);
    expect(stat).toMatchObject({ pid: run.child.pid, ppid: process.pid, pgrp: run.child.pid });
    expect(processStartTime(run.child.pid)).toBe(stat?.startTime);
    expect(processStartTime(run.child.pid)).toBeGreaterThanOrEqual(processStartTime(process.pid)!);
    expect(rssBytes(run.child.pid)).toBeGreaterThan(1024 * 1024);
    expect(isAlive(run.child.pid)).toBe(true);
    expect(groupMembers(run.child.pgid)).toEqual([run.child.pid]);
    process.kill(run.child.pid, 'SIGKILL');
    await run.child.exited;
    expect(isAlive(run.child.pid)).toBe(false);
    expect(processStartTime(run.child.pid)).toBeUndefined();
    expect(rssBytes(run.child.pid)).toBeUndefined();
  });
});

describe('memory sampler', () => {
  it('reports a real worker whose RSS is over maxMemory, once, with a reason', async () => {
    const big = await runFixture(janitor, 'hang.mjs');
    const small = await runFixture(janitor, 'hang.mjs');
    await Promise.all([big.line((l) => l === 'ready'), small.line((l) => l === 'ready')]);
    const reports: MemoryOverage[] = [];
    const sampler = startMemorySampler({
      intervalMs: 60_000,
      targets: () => [
        { identifier: 'tight', version: '1.0', pid: big.child.pid, maxMemoryBytes: 1024 * 1024 },
        { identifier: 'roomy', version: '1.0', pid: small.child.pid, maxMemoryBytes: 64 * 1024 ** 3 },
      ],
      onOver: (overage) => reports.push(overage),
    });
    try {
      sampler.sample();
      sampler.sample();
    } finally {
      sampler.stop();
    }
    expect(reports).toHaveLength(1);
    expect(reports[0]?.target.identifier).toBe('tight');
    expect(reports[0]?.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(reports[0]?.reason).toMatch(/^MEMORY_LIMIT: RSS [\d.]+ MiB over maxMemory 1\.0 MiB$/);
  });

  it('reports a reused pid again once it was no longer watched, and survives a throwing handler', () => {
    let watched = true;
    const rss = new Map([[10, 5000]]);
    let calls = 0;
    const sampler = startMemorySampler({
      intervalMs: 60_000,
      targets: () => (watched ? [{ identifier: 'a', version: '1.0', pid: 10, maxMemoryBytes: 1000 }] : []),
      readRss: (pid) => rss.get(pid),
      onOver: () => {
        calls += 1;
        throw new Error('handler failed');
      },
    });
    try {
      expect(sampler.sample()).toHaveLength(1);
      expect(sampler.sample()).toHaveLength(0);
      watched = false;
      sampler.sample();
      watched = true;
      expect(sampler.sample()).toHaveLength(1);
      rss.delete(10);
      watched = false;
      sampler.sample();
      watched = true;
      expect(sampler.sample()).toHaveLength(0); // gone: nothing to report
    } finally {
      sampler.stop();
    }
    expect(calls).toBe(2);
  });
});
