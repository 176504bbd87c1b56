// On admin start: kill the worker process groups a previous run left behind, and only those.
import { readProcStat, type ProcStat } from './proc.js';
import { stopGroup, type StopResult, type StopTarget } from './kill.js';
import type { ProcessRecord } from './state-schema.js';

/** Why a recorded process was left alone. */
type SkipReason = 'gone' | 'recycled' | 'own-group';

interface ReapResult {
  /** Recorded processes whose group was stopped (SIGTERM, SIGKILL after killTimeout). */
  killed: Array<{ record: ProcessRecord; outcome: StopResult['outcome'] }>;
  skipped: Array<{ record: ProcessRecord; reason: SkipReason }>;
}

interface ReapOptions {
  killTimeoutMs: number;
  /** /proc/PID/stat reader (injectable for tests). */
  stat?: (pid: number) => ProcStat | undefined;
  /** Group stop (injectable for tests). */
  stop?: (target: StopTarget, options: { killTimeoutMs: number; reason: string }) => Promise<StopResult>;
}

/** Stops every recorded group whose leader still is the process that run spawned (same start time); returns what it did. */
export async function reapOrphans(state: { processes: readonly ProcessRecord[] } | readonly ProcessRecord[], options: ReapOptions): Promise<ReapResult> {
  const records = 'processes' in state ? state.processes : state;
  const stat = options.stat ?? ((pid: number) => readProcStat(pid));
  const stop = options.stop ?? stopGroup;
  const result: ReapResult = { killed: [], skipped: [] };
  const ownGroup = readProcStat(process.pid)?.pgrp;
  await Promise.all(records.map(async (record) => {
    const reason = skipReason(record, stat(record.pid), ownGroup);
    if (reason) {
      result.skipped.push({ record, reason });
      return;
    }
    const stopped = await stop({ pgid: record.pgid }, { killTimeoutMs: options.killTimeoutMs, reason: 'orphan of a previous admin run' });
    result.killed.push({ record, outcome: stopped.outcome });
  }));
  return result;
}

function skipReason(record: ProcessRecord, stat: ProcStat | undefined, ownGroup: number | undefined): SkipReason | undefined {
  if (record.pgid === process.pid || record.pgid === ownGroup || record.pid === process.pid) return 'own-group';
  if (!stat || stat.state === 'Z' || stat.state === 'X') return 'gone';
  // A pid is reused after its process dies: the start time (and the group it leads) tell ours from a stranger.
  if (stat.startTime !== record.startTime || stat.pgrp !== record.pgid) return 'recycled';
  return undefined;
}

/** The record of a just-spawned worker for state.json (start time read now); undefined when it is already gone. */
export function recordProcess(child: { pid: number; pgid: number }, identity: { identifier: string; version: string; runId: string }): ProcessRecord | undefined {
  const stat = readProcStat(child.pid);
  if (!stat || stat.state === 'Z') return undefined;
  return { identifier: identity.identifier, version: identity.version, pid: child.pid, pgid: child.pgid, startTime: stat.startTime, runId: identity.runId };
}
