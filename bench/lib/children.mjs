// Child processes of a bench: started with a "ready" JSON line on stdout, always stopped (TERM, then KILL) by `stop`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spawns `command args`; resolves once it printed its first JSON line on stdout, with
 * `{proc, info, stop}`. `stop(graceMs)` sends `signal` (or closes stdin when `signal` is
 * 'stdin'), waits up to graceMs, then SIGKILLs; idempotent. Rejects (after killing it) when
 * the child exits first or stays silent for `readyMs`.
 */
export async function spawnReady(command, args, { env = process.env, cwd, readyMs = 60_000, stdinText, stderr = 'inherit', stopSignal = 'SIGTERM' } = {}) {
  const proc = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', stderr] });
  if (stdinText !== undefined) proc.stdin.end(stdinText);
  proc.stdin.on('error', () => {}); // a child that exits early closes its stdin under us
  let stopping;
  const stop = (graceMs = 10_000) => (stopping ??= stopProcess(proc, stopSignal, graceMs));
  try {
    const info = await firstJsonLine(proc, readyMs);
    return { proc, info, stop };
  } catch (error) {
    await stop(1000);
    throw error;
  }
}

function firstJsonLine(proc, readyMs) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`bench child pid ${proc.pid} printed nothing within ${readyMs} ms`)), readyMs);
    const onData = (chunk) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.stdout.resume(); // keep draining whatever else it prints
      try {
        resolve(JSON.parse(out.slice(0, nl)));
      } catch (error) {
        reject(new Error(`bench child pid ${proc.pid}: first line is not JSON: ${out.slice(0, nl)}`, { cause: error }));
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`bench child pid ${proc.pid} exited (${signal ?? code}) before it was ready`));
    });
  });
}

/** Asks a child to stop (signal, or EOF on its stdin), then SIGKILL after graceMs. */
export async function stopProcess(proc, signal, graceMs) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  if (signal === 'stdin') proc.stdin.end();
  else proc.kill(signal);
  const ac = new AbortController();
  const done = await Promise.race([exited.then(() => true), sleep(graceMs, false, { signal: ac.signal }).catch(() => false)]);
  ac.abort();
  if (!done) {
    proc.kill('SIGKILL');
    await exited;
  }
}

/** SIGKILLs a process group if it still exists (a worker leads its own group). */
export function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
