// A stack child process (see stack-child.mjs) and the clients a bench uses to drive it; `stop` leaves nothing behind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnReady, killGroup } from './children.mjs';
import { ROOT } from './paths.mjs';

const CHILD = new URL('./stack-child.mjs', import.meta.url).pathname;

/** Resident set size of a pid in bytes (VmRSS), or null once it is gone. */
function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Starts router + admin + repository in a child process on a temp state dir.
 * Returns {stateDir, address, pid, admin, client, send, rss, stop}: `admin`/`client` are
 * router RPC clients with the admin and the client token; `send(command, payload)` parses the reply.
 * `nodeArgs` go to the stack's node (e.g. `--cpu-prof`, used by bench/lib/profile.mjs); `stderr` is its stderr ('inherit' by default).
 */
export async function startStackProcess({ connectorsDir = [join(ROOT, 'connectors')], timeouts = {}, logLevel, nodeArgs = [], stderr } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-bench-stack-'));
  const { createRouterRpc } = await import('../../dist/sdk/rpc.js');
  let child;
  let admin;
  let client;
  const stop = async () => {
    admin?.close();
    client?.close();
    // EOF drains every worker; KILL after the grace; then the workers state.json names, in case the admin could not
    await child?.stop(60_000);
    reapRecorded(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    child = await spawnReady(process.execPath, [...nodeArgs, CHILD], {
      env: { ...process.env, BENCH_STACK: JSON.stringify({ stateDir, connectorsDir, timeouts, logLevel: logLevel ?? process.env.BENCH_LOG_LEVEL }) },
      stopSignal: 'stdin',
      ...(stderr ? { stderr } : {}),
      readyMs: 120_000,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const { address, adminToken, clientToken, pid } = child.info;
  admin = createRouterRpc({ address, token: adminToken });
  client = createRouterRpc({ address, token: clientToken });
  return {
    stateDir, address, pid, adminToken, admin, client,
    /** Sends an admin command; resolves `{status, error, data}` with the payload parsed. */
    async send(command, payload = {}, timeoutMs = 180_000) {
      const reply = await admin.sendCommand({ command, payload: JSON.stringify(payload), timeout_ms: timeoutMs });
      return { ...reply, data: reply.payload ? JSON.parse(reply.payload) : null };
    },
    rss: () => rssBytes(pid),
    /** CPU µs (user + system) used so far by the stack process and by the worker processes state.json names. */
    cpu: () => ({ stack: cpuMicros(pid), workers: recordedPids(stateDir).reduce((sum, p) => sum + (cpuMicros(p) ?? 0), 0) }),
    /** process.memoryUsage() of the stack process (rss, heapTotal, heapUsed, external, arrayBuffers). */
    async memory() {
      child.proc.stdin.write('mem\n');
      return (await child.next()).mem;
    },
    /** Starts the V8 CPU profiler in the stack process; the returned function stops it and writes `path`. */
    async cpuProfile(path) {
      child.proc.stdin.write('cpuprofile start\n');
      await child.next();
      return async () => {
        child.proc.stdin.write(`cpuprofile stop ${path}\n`);
        return (await child.next()).cpuprofile;
      };
    },
    /** Writes a V8 heap snapshot of the stack process to `path`. */
    async heapSnapshot(path) {
      child.proc.stdin.write(`heapsnapshot ${path}\n`);
      return (await child.next()).heapsnapshot;
    },
    stop,
  };
}

/** Kills the worker process groups the admin recorded in state.json (only while the pid is still that process). */
export function reapRecorded(stateDir) {
  let state;
  try {
    state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
  } catch {
    return;
  }
  for (const p of state.processes ?? []) {
    const stat = procStartTime(p.pid);
    if (stat !== null && stat === p.startTime) killGroup(p.pgid);
  }
}

/** Pids of the worker processes the admin recorded in state.json. */
export function recordedPids(stateDir) {
  try {
    return (JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')).processes ?? []).map((p) => p.pid);
  } catch {
    return [];
  }
}

const TICKS_PER_SECOND = 100; // USER_HZ: /proc/PID/stat counts CPU time in clock ticks of 10 ms

/** CPU time (utime + stime) of a pid in µs, from /proc/PID/stat; null once it is gone. */
export function cpuMicros(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

function procStartTime(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}
