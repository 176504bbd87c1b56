import { afterEach, describe, expect, it } from 'vitest';
import { signalGroup, stopGroup } from '../../src/process/kill.js';
import { groupMembers, isAlive } from '../../src/process/proc.js';
import { Janitor, runFixture, waitFor } from './helpers.js';

const janitor = new Janitor();
afterEach(() => janitor.cleanup());

describe('stopGroup', () => {
  it('stops a worker that honours SIGTERM without SIGKILL', async () => {
    const run = await runFixture(janitor, 'dump.mjs');
    await run.line((l) => l.startsWith('{'));
    const result = await stopGroup(run.child, { killTimeoutMs: 5000, reason: 'stop' });
    expect(result).toEqual({ reason: 'stop', outcome: 'terminated', exit: { code: null, signal: 'SIGTERM' } });
  });

  it('SIGKILLs a worker that ignores SIGTERM once killTimeout has passed', async () => {
    const run = await runFixture(janitor, 'hang.mjs');
    await run.line((l) => l === 'ready');
    const started = Date.now();
    const result = await stopGroup(run.child, { killTimeoutMs: 300, reason: 'drain-timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(result).toEqual({ reason: 'drain-timeout', outcome: 'killed', exit: { code: null, signal: 'SIGKILL' } });
    expect(run.lines.map((l) => l.line)).toContain('SIGTERM ignored');
  });

  it('signals the whole group: the worker and its grandchild both go', async () => {
    const run = await runFixture(janitor, 'grandchild.mjs');
    const { grandchild } = JSON.parse(await run.line((l) => l.startsWith('{'))) as { grandchild: number };
    expect(groupMembers(run.child.pgid).sort()).toEqual([run.child.pid, grandchild].sort());
    const result = await stopGroup(run.child, { killTimeoutMs: 5000, reason: 'stop' });
    expect(result.outcome).toBe('terminated');
    await waitFor(() => !isAlive(grandchild), 'the grandchild to exit');
    expect(groupMembers(run.child.pgid)).toEqual([]);
  });

  it('SIGKILLs a grandchild that ignores SIGTERM after its parent has exited', async () => {
    const run = await runFixture(janitor, 'grandchild.mjs', { grandchildIgnoresTerm: true });
    const { grandchild } = JSON.parse(await run.line((l) => l.startsWith('{'))) as { grandchild: number };
    await run.line((l) => l === 'grandchild up');
    const result = await stopGroup(run.child, { killTimeoutMs: 300, reason: 'stop' });
    expect(result.outcome).toBe('killed');
    expect(result.exit).toEqual({ code: null, signal: 'SIGTERM' }); // the leader went on SIGTERM; the group needed SIGKILL
    expect(isAlive(grandchild)).toBe(false);
  });

  it('is tolerant of a group that is already gone', async () => {
    const run = await runFixture(janitor, 'crash.mjs', { exitCode: 0 });
    await run.child.exited;
    expect(signalGroup(run.child.pgid, 'SIGTERM')).toBe('gone');
    expect(await stopGroup(run.child, { killTimeoutMs: 100, reason: 'stop' })).toEqual({ reason: 'stop', outcome: 'already-gone', exit: { code: 0, signal: null } });
  });

  it('never signals group 0 or 1 (our own group, every process)', () => {
    expect(() => signalGroup(0, 'SIGTERM')).toThrowError(/refusing to signal process group 0/);
    expect(() => signalGroup(1, 'SIGTERM')).toThrowError(/refusing/);
    expect(() => signalGroup(-5, 'SIGTERM')).toThrowError(/refusing/);
  });
});
