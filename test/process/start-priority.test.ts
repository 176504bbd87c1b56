// A worker started beside a serving one runs at nice 10 until READY, every thread of it, then gets the admin's back.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startLowPriority } from '../../src/process/start-priority.js';
import { testEnv } from '../helpers/env.js';

const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
const CAPABLE = (BigInt(`0x${capEff}`) & (1n << 23n)) !== 0n;
if (!CAPABLE) process.stderr.write('start priority test skipped: this process lacks CAP_SYS_NICE (run as root to test it)\n');

/** The nice value of every thread of `pid` (field 19 of /proc/PID/task/TID/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
  });
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
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")'], { env: testEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => child?.stdout?.once('data', resolve)); // its threads exist by now
    const pid = child.pid as number;
    const restore = startLowPriority(pid);
    expect(getPriority(pid)).toBe(10);
    const nices = threadNices(pid);
    expect(nices.length).toBeGreaterThan(1);
    expect(nices.every((n) => n === 10)).toBe(true);
    restore();
    restore();
    expect(threadNices(pid).every((n) => n === getPriority())).toBe(true);
  });

  it('a process gone before the restore is no error', async () => {
    child = spawn(process.execPath, ['-e', ''], { env: testEnv(), stdio: 'ignore' });
    const restore = startLowPriority(child.pid as number);
    await new Promise((resolve) => child?.once('exit', resolve));
    expect(() => restore()).not.toThrow();
  });
});
