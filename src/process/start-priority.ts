// A worker that starts beside a serving one (a rolling update) starts at a lower CPU priority, so that its boot does
// not take the cores from the router and the worker still serving; it gets the admin's priority back once READY.
// Linux only, and only where the admin may raise a priority again (CAP_SYS_NICE, e.g. root): elsewhere nothing changes.
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The nice value of a starting worker (19 is the lowest priority; 10 still lets it start on an idle host). */
const START_NICE = 10;
/** CAP_SYS_NICE, the capability to lower a nice value (raise a priority). */
const CAP_SYS_NICE = 23n;

let capable: boolean | undefined;

/** True when this process may set a nice value back down (CapEff has CAP_SYS_NICE). */
function mayRestore(): boolean {
  if (capable !== undefined) return capable;
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    capable = hex !== undefined && (BigInt(`0x${hex}`) & (1n << CAP_SYS_NICE)) !== 0n;
  } catch {
    capable = false;
  }
  return capable;
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

/** Lowers the priority of a worker that just started; returns how to give it the admin's back (a no-op when unchanged). */
export function startLowPriority(pid: number): () => void {
  if (!mayRestore()) return () => undefined;
  const own = getPriority();
  if (own >= START_NICE || !reniceThreads(pid, START_NICE)) return () => undefined;
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    reniceThreads(pid, own);
  };
}
