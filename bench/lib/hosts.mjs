// `up` processes for the fleet benches: a host without a fleet section (its own local repository packed from the
// sources given), and a wait until a router serves ECHO.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopProcess } from './children.mjs';
import { ROOT } from './paths.mjs';
import { reapRecorded } from './stack.mjs';

/**
 * `up --config` on `stateDir` with the fleet's tokens, `connectors` (admin.yaml entries) and no `fleet:` section; its
 * local repository is packed from `connectorsDir`. Resolves once it printed `ready:` with {router, ops, stateDir, stop, pid}:
 * `stop()` sends SIGTERM (drain), SIGKILLs after 20 s, then kills the worker groups its state.json still names.
 */
export async function startPlainHost({ stateDir, tokens, connectorsDir, connectors = [] }) {
  mkdirSync(stateDir, { recursive: true });
  const configFile = join(stateDir, 'host.yaml');
  writeFileSync(configFile, `${JSON.stringify({
    stateDir, mode: 'development', router: { address: `unix:${join(stateDir, 'router.sock')}` },
    repository: { retries: 1 }, ops: { listen: '127.0.0.1:0' }, connectors,
  }, null, 2)}\n`);
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? stateDir, WORKER_ADMIN_TOKEN: tokens.admin, WORKER_ADMIN_CLIENT_TOKEN: tokens.client, WORKER_ADMIN_LOG_LEVEL: 'warn' };
  const proc = spawn(process.execPath, [join(ROOT, 'bin', 'worker-admin.js'), 'up', '--config', configFile, '--connectors', connectorsDir], { env, cwd: stateDir, stdio: ['ignore', 'pipe', 'inherit'] });
  let stopping;
  const stop = () => (stopping ??= stopProcess(proc, 'SIGTERM', 20_000).then(() => reapRecorded(stateDir)));
  try {
    await new Promise((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (c) => {
        out += c;
        if (/^ready:/m.test(out)) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`the host without a fleet in ${stateDir} exited (${code}) before it was ready`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const { router, ops } = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8'));
  return { router, ops, stateDir, stop, pid: proc.pid };
}

/** Sends ECHO through `rpc` until it succeeds (the worker is there and, in a fleet, known to that router), at most 60 s. */
export async function warmEcho(rpc, what, payload = '{"text":"hello"}') {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const reply = await rpc.sendCommand({ command: 'ECHO', payload, timeout_ms: 10_000 }).catch((e) => ({ status: String(e) }));
    if (reply.status === 'SUCCESS') return;
    if (Date.now() > deadline) throw new Error(`${what} did not serve ECHO within 60 s (${reply.status})`);
    await sleep(200);
  }
}
