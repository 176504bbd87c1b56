// /proc readers (Linux): start time, process group, RSS and liveness of a pid, members of a process group.
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat the admin uses. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, … */
  state: string;
  ppid: number;
  pgrp: number;
  /** Field 22: start time in clock ticks since boot; with the pid, it names one process for good. */
  startTime: number;
}

/** Reads /proc/PID/stat; undefined when the process does not exist. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** Parses a /proc/PID/stat line; the command name may hold spaces and parentheses, so split after the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (open === -1 || close === -1) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // After ") " come fields 3 (state), 4 (ppid), 5 (pgrp) … 22 (starttime).
  const rest = text.slice(close + 2).split(' ');
  const field = (n: number): string | undefined => rest[n - 3];
  const startTime = Number(field(22));
  const state = field(3);
  if (!Number.isInteger(pid) || state === undefined || !Number.isFinite(startTime)) return undefined;
  return { pid, state, ppid: Number(field(4)), pgrp: Number(field(5)), startTime };
}

/** The start time (clock ticks since boot) of a pid; undefined when it does not exist. */
export function processStartTime(pid: number, procRoot = '/proc'): number | undefined {
  return readProcStat(pid, procRoot)?.startTime;
}

/** True when the pid exists and is not a zombie. */
export function isAlive(pid: number, procRoot = '/proc'): boolean {
  const stat = readProcStat(pid, procRoot);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Resident memory of a pid in bytes (VmRSS); undefined when it is gone (or a zombie, which has none). */
export function rssBytes(pid: number, procRoot = '/proc'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** The live (non-zombie) pids whose process group is `pgid`. */
export function groupMembers(pgid: number, procRoot = '/proc'): number[] {
  const members: number[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name), procRoot);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') members.push(stat.pid);
  }
  return members;
}
