// Child processes of a bench: started with a "ready" JSON line on stdout, always stopped (TERM, then KILL) by `stop`.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spawns `command args`; resolves once it printed its first JSON line on stdout, with
 * `{proc, info, next, stop}`: `next()` resolves with its next JSON line. `stop(graceMs)` sends
 * `stopSignal` (or closes stdin when it is 'stdin'), waits up to graceMs, then SIGKILLs; idempotent.
 * Rejects (after killing it) when the child exits first or stays silent for `readyMs`.
 */
export async function spawnReady(command, args, { env = process.env, cwd, readyMs = 60_000, stdinText, stderr = 'inherit', stopSignal = 'SIGTERM' } = {}) {
  const proc = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', stderr] });
  if (stdinText !== undefined) proc.stdin.end(stdinText);
  proc.stdin.on('error', () => {}); // a child that exits early closes its stdin under us
  let stopping;
  const stop = (graceMs = 10_000) => (stopping ??= stopProcess(proc, stopSignal, graceMs));
  const lines = jsonLines(proc);
  try {
    const info = await withTimeout(lines.next(), readyMs, `bench child pid ${proc.pid} printed nothing within ${readyMs} ms`);
    return { proc, info, next: lines.next, stop };
  } catch (error) {
    await stop(1000);
    throw error;
  }
}

// The child's stdout as a queue of parsed JSON lines; `next()` rejects once the child exited with none left.
function jsonLines(proc) {
  const queue = [];
  const waiting = [];
  let buffered = '';
  let ended = null;
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let value;
      try {
        value = { ok: JSON.parse(text) };
      } catch {
        value = { error: new Error(`bench child pid ${proc.pid}: not a JSON line: ${text}`) };
      }
      const w = waiting.shift();
      if (w) w(value);
      else queue.push(value);
    }
  });
  proc.once('exit', (code, signal) => {
    ended = new Error(`bench child pid ${proc.pid} exited (${signal ?? code})`);
    for (const w of waiting.splice(0)) w({ error: ended });
  });
  const next = async () => {
    const item = queue.shift() ?? (ended ? { error: ended } : await new Promise((resolve) => waiting.push(resolve)));
    if (item.error) throw item.error;
    return item.ok;
  };
  return { next };
}

function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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
