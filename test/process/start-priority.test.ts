// A worker started beside a serving one runs at nice 10 until READY, every thread of it and (in a session of its own,
// where the kernel schedules sessions as groups) its session's group too, then gets the admin's back.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { autogroupOf, startLowPriority } from '../../src/process/start-priority.js';
import { testEnv } from '../helpers/env.js';

const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
const CAPABLE = (BigInt(`0x${capEff}`) & (1n << 23n)) !== 0n;
if (!CAPABLE) process.stderr.write('start priority test skipped: this process lacks CAP_SYS_NICE (run as root to test it)\n');
// CAP_SYS_ADMIN (bit 21) and a kernel with autogroups: what the group part needs
const GROUPS = CAPABLE && (BigInt(`0x${capEff}`) & (1n << 21n)) !== 0n && autogroupOf('self') !== undefined;
if (CAPABLE && !GROUPS) process.stderr.write('start priority autogroup tests skipped: no /proc/self/autogroup or no CAP_SYS_ADMIN\n');

/** Starts a node process that prints a line once up (its threads exist by then); `detached`: in a session of its own. */
async function startNode(detached: boolean): Promise<number> {
  child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], { env: testEnv(), stdio: ['ignore', 'pipe', 'ignore'], detached });
  await new Promise((resolve) => child?.stdout?.once('data', resolve));
  return child.pid as number;
}

/** The nice value of every thread of `pid` (field 19 of /proc/PID/task/TID/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
  });
}

/** True when every thread of `pid` has the nice value of this process (the admin's, in these tests). */
function atAdminPriority(pid: number): boolean {
  return threadNices(pid).every((n) => n === getPriority());
}

let child: ChildProcess | undefined;
afterEach(async () => {
  if (child?.exitCode === null) {
    const gone = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  }
  child = undefined;
});

describe.skipIf(!CAPABLE)('start priority', () => {
  it('lowers every thread of a started node process, and restores the admin priority once (idempotent)', async () => {
    const pid = await startNode(false);
    const restore = startLowPriority(pid);
    expect(getPriority(pid)).toBe(10);
    const nices = threadNices(pid);
    expect(nices.length).toBeGreaterThan(1);
    expect(nices.every((n) => n === 10)).toBe(true);
    restore();
    restore();
    expect(atAdminPriority(pid)).toBe(true);
  });

  it.skipIf(!GROUPS)('a process in a session of its own (spawned detached, as the admin does): its group is lowered too, then restored', async () => {
    const pid = await startNode(true);
    const ours = autogroupOf('self');
    const before = autogroupOf(pid);
    expect(before?.id).not.toBe(ours?.id);
    expect(before?.nice).toBe(0);
    const restore = startLowPriority(pid);
    // without this, the threads' nice 10 weighs only against the process's own threads: the group competes at full weight
    expect(autogroupOf(pid)).toEqual({ id: before?.id, nice: 10 });
    expect(autogroupOf('self')).toEqual(ours);
    restore();
    expect(autogroupOf(pid)).toEqual(before);
    expect(atAdminPriority(pid)).toBe(true);
  });

  it('gives the priority back by itself once its time is up, READY or not; the restore after that does nothing', async () => {
    const pid = await startNode(true);
    const before = autogroupOf(pid);
    let fire: (() => void) | undefined;
    let cancelled = 0;
    const restore = startLowPriority(pid, 1000, (f, ms) => {
      expect(ms).toBe(1000);
      fire = f;
      return () => (cancelled += 1);
    });
    expect(getPriority(pid)).toBe(10);
    if (GROUPS) expect(autogroupOf(pid)?.nice).toBe(10);
    fire?.();
    expect(atAdminPriority(pid)).toBe(true);
    expect(autogroupOf(pid)).toEqual(before);
    restore();
    expect(cancelled).toBe(1);
    expect(atAdminPriority(pid)).toBe(true);
  });

  it.skipIf(!GROUPS)("a process in the admin's own session: the group, the admin's, is left as it is", async () => {
    const pid = await startNode(false);
    const ours = autogroupOf('self');
    expect(autogroupOf(pid)?.id).toBe(ours?.id);
    const restore = startLowPriority(pid);
    expect(getPriority(pid)).toBe(10);
    expect(autogroupOf('self')).toEqual(ours);
    restore();
    expect(autogroupOf('self')).toEqual(ours);
  });

  it('a process gone before the restore is no error', async () => {
    child = spawn(process.execPath, ['-e', ''], { env: testEnv(), stdio: 'ignore' });
    const restore = startLowPriority(child.pid as number);
    await new Promise((resolve) => child?.once('exit', resolve));
    expect(() => restore()).not.toThrow();
  });
});
