// Stops a worker's whole process group: SIGTERM, then SIGKILL after killTimeout; the reason is recorded.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkerAdminError } from '../common/errors.js';
import { groupMembers } from './proc.js';
import type { ExitInfo } from './spawn.js';

/** `sent`: the group got the signal; `gone`: nothing is left in it (ESRCH). */
type SignalResult = 'sent' | 'gone';

/** How a stop ended: the group exited on SIGTERM, needed SIGKILL, or was already empty. */
type StopOutcome = 'terminated' | 'killed' | 'already-gone';

export interface StopResult {
  /** Why it was stopped, as given by the caller (`drain-timeout`, `memory`, `start-timeout`, …). */
  reason: string;
  outcome: StopOutcome;
  /** The leader's exit, when the caller gave its `exited` promise. */
  exit: ExitInfo | undefined;
}

export interface StopTarget {
  /** Process group to signal (a worker leads its own: pgid === pid). */
  pgid: number;
  /** The leader's exit, for a child of this process; orphans from a previous run have none. */
  exited?: Promise<ExitInfo>;
}

interface StopOptions {
  killTimeoutMs: number;
  reason: string;
  /** How often the group is checked for survivors (default 25 ms). */
  pollMs?: number;
  /** Live members of a group (default: a /proc scan); injectable for tests. */
  members?: (pgid: number) => number[];
}

const KILL_SETTLE_MS = 2000;

/** Sends `signal` to every process of group `pgid`; tolerant of ESRCH. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): SignalResult {
  // -0 and -1 would mean "our own group" and "every process we may signal": never.
  if (!Number.isInteger(pgid) || pgid <= 1) throw new WorkerAdminError('INTERNAL', `refusing to signal process group ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return 'sent';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
    throw error;
  }
}

/** Two-step stop: SIGTERM to the group, SIGKILL to the group after `killTimeoutMs` if anything is left. */
export async function stopGroup(target: StopTarget, options: StopOptions): Promise<StopResult> {
  const members = options.members ?? groupMembers;
  const pollMs = options.pollMs ?? 25;
  const abort = new AbortController();
  const finish = async (outcome: StopOutcome): Promise<StopResult> => ({ reason: options.reason, outcome, exit: target.exited ? await target.exited : undefined });
  try {
    // Checked before signalling: a process that dies on SIGTERM at once was still terminated by it.
    if (members(target.pgid).length === 0 || signalGroup(target.pgid, 'SIGTERM') === 'gone') return await finish('already-gone');
    const deadline = sleep(options.killTimeoutMs, 'deadline' as const, { signal: abort.signal }).catch(() => 'aborted' as const);
    // The leader exiting is not enough: a grandchild that ignores SIGTERM still holds the group.
    const emptied = (async () => {
      if (target.exited) await target.exited;
      while (!abort.signal.aborted && members(target.pgid).length > 0) {
        await sleep(pollMs, undefined, { signal: abort.signal }).catch(() => undefined);
      }
      return 'emptied' as const;
    })();
    if ((await Promise.race([deadline, emptied])) === 'emptied') return await finish('terminated');
    signalGroup(target.pgid, 'SIGKILL');
    // SIGKILL cannot be ignored, but dying takes a moment: return once the group is empty (bounded wait).
    for (let waited = 0; waited < KILL_SETTLE_MS && members(target.pgid).length > 0; waited += pollMs) await sleep(pollMs);
    return await finish('killed');
  } finally {
    abort.abort();
  }
}
