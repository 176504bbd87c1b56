// A worker that starts beside a serving one (a rolling update) starts at a lower CPU priority, so that its boot does
// not take the cores from the router and the worker still serving; it gets the admin's priority back once READY.
// Linux only, and only where the admin may raise a priority again (CAP_SYS_NICE, e.g. root): elsewhere nothing changes.
//
// A nice value only weighs against the other threads of the same scheduling group. With autogroups (Linux's
// kernel.sched_autogroup_enabled, 1 by default in kernels built with them) every session is a group, and a
// worker runs in a session of its own (it is spawned detached, see spawn.ts): its threads at nice 10 would compete
// with nothing but each other, and the group with the admin's at full weight. So the worker's group gets the same
// nice value (/proc/PID/autogroup) while it starts, where the admin may set that one without the kernel's rate limit
// on it (CAP_SYS_ADMIN: without it, a second write within 100 ms fails, and a failed restore would leave the worker's
// group at a low weight for good).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice value of a starting worker (19 is the lowest priority; 10 still lets it start on an idle host). */
const START_NICE = 10;
/** CAP_SYS_NICE, the capability to lower a nice value (raise a priority). */
const CAP_SYS_NICE = 23n;
/** CAP_SYS_ADMIN: autogroup nice values set without the kernel's rate limit. */
const CAP_SYS_ADMIN = 21n;

let effective: bigint | undefined;

/** True when this process has `capability` in its effective set (CapEff of /proc/self/status). */
function hasCapability(capability: bigint): boolean {
  if (effective === undefined) {
    try {
      const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      effective = hex === undefined ? 0n : BigInt(`0x${hex}`);
    } catch {
      effective = 0n;
    }
  }
  return (effective & (1n << capability)) !== 0n;
}

/** True when this process may set a nice value back down (CapEff has CAP_SYS_NICE). */
function mayRestore(): boolean {
  return hasCapability(CAP_SYS_NICE);
}

/** A process's autogroup ("/autogroup-ID nice N" in /proc/PID/autogroup), or undefined (no autogroups, gone). */
export function autogroupOf(pid: number | 'self'): { id: string; nice: number } | undefined {
  try {
    const match = /^(\/autogroup-\d+)\s+nice\s+(-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return match ? { id: match[1] as string, nice: Number(match[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/** Sets the nice value of `pid`'s autogroup; false when it could not. */
function setAutogroupNice(pid: number, nice: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    return false;
  }
}

/**
 * Lowers the nice value of `pid`'s autogroup when it is a group of its own (never the admin's) and the admin may
 * set it back at any time; returns how to restore it (a no-op when unchanged).
 */
function lowerAutogroup(pid: number): () => void {
  if (!hasCapability(CAP_SYS_ADMIN)) return () => undefined;
  const group = autogroupOf(pid);
  const ours = autogroupOf('self');
  if (group === undefined || ours === undefined || group.id === ours.id || group.nice >= START_NICE) return () => undefined;
  if (!setAutogroupNice(pid, START_NICE)) return () => undefined;
  return () => {
    // only the group it started in: a process that is gone (its pid reused) or in another session keeps its own
    if (autogroupOf(pid)?.id === group.id) setAutogroupNice(pid, group.nice);
  };
}

/** Sets every thread of `pid` to `nice` (the main thread first: threads it makes later inherit its value). */
function reniceThreads(pid: number, nice: number): boolean {
  try {
    setPriority(pid, nice);
    for (const tid of readdirSync(`/proc/${pid}/task`)) if (Number(tid) !== pid) setPriority(Number(tid), nice);
    return true;
  } catch {
    return false; // gone already, or not ours to change: it keeps what it has
  }
}

/**
 * How long a start keeps the low priority at most (ms). Where the serving processes keep every core busy, a start at
 * a low weight gets a small fraction of what it would otherwise get (30 instances updated under a closed-loop load:
 * batches of starts took 2.4–5.0 s instead of 1.4–1.9 with no bound, BENCHMARKS.md). A boot of ~200 ms of CPU is
 * over well within it on a host that is not saturated; on one that is, the start competes at the admin's priority
 * after it.
 */
const START_LOW_PRIORITY_MS = 1000;

/** Runs `fire` after `ms` without keeping the process alive; returns how to cancel it. */
type Timer = (fire: () => void, ms: number) => () => void;

const unrefTimer: Timer = (fire, ms) => {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Lowers the priority of a worker that just started; returns how to give it the admin's back (a no-op when unchanged),
 * which also happens by itself after `limitMs`.
 */
export function startLowPriority(pid: number, limitMs = START_LOW_PRIORITY_MS, timer: Timer = unrefTimer): () => void {
  if (!mayRestore()) return () => undefined;
  const own = getPriority();
  if (own >= START_NICE || !reniceThreads(pid, START_NICE)) return () => undefined;
  const restoreGroup = lowerAutogroup(pid);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    cancel();
    restoreGroup();
    reniceThreads(pid, own);
  };
  const cancel = timer(restore, limitMs);
  return restore;
}
