// A worker started "by hand", the baseline of the cold start: ExpectWorker, then `node worker.mjs` with its stdin line.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { stopProcess } from './children.mjs';

const WELCOMED = /CONNECTING -> READY/;

/** Announces a worker to the router with a fresh token; returns the stdin line that worker must be given. */
export async function announceWorker(admin, { identifier, target, type, product, version, commands, config = {} }) {
  const token = randomBytes(32).toString('base64url');
  await admin.expectWorker({
    identifier, version, type, product, commands, ttl_ms: 120_000,
    token_sha256: createHash('sha256').update(token).digest('hex'),
  });
  return JSON.stringify({ identifier, target, token, type, product, version, config });
}

/**
 * Spawns `node worker.mjs --identifier ID --target ADDR` in `dir` (after the caller's announceWorker) and resolves
 * when the SDK logs its Welcome on stderr: `{ms, stop}` with ms from spawn to Welcome. `command` and `args` run
 * another interpreter (`python3 -B worker.py`: the Python SDK logs the same Welcome line).
 */
export async function startByHand({ dir, entry = 'worker.mjs', identifier, target, line, command = process.execPath, args = [] }) {
  const started = performance.now();
  const proc = spawn(command, [...args, entry, '--identifier', identifier, '--target', target], {
    cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, stdio: ['pipe', 'ignore', 'pipe'],
  });
  proc.stdin.on('error', () => {});
  proc.stdin.end(`${line}\n`);
  const stop = () => stopProcess(proc, 'SIGTERM', 5000);
  try {
    await new Promise((resolve, reject) => {
      let err = '';
      proc.stderr.on('data', (c) => {
        err += c;
        if (WELCOMED.test(err)) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`worker ${identifier} exited ${code} before its Welcome: ${err.trim()}`)));
    });
    const ms = performance.now() - started;
    proc.stderr.resume();
    return { ms, stop, pid: proc.pid };
  } catch (error) {
    await stop();
    throw error;
  }
}
