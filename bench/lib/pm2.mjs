// PM2 7 (dev dependency) for the baselines: a daemon in a temp PM2_HOME, always killed and removed by `close`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnReady } from './children.mjs';
import { ROOT } from './paths.mjs';

const PM2_BIN = join(ROOT, 'node_modules', '.bin', 'pm2');
const CHILD = new URL('./pm2-child.mjs', import.meta.url).pathname;

/** Starts a PM2 daemon in a temp home; returns {home, env, start(apps), pm2(args), close()}. */
export async function startPm2() {
  const home = mkdtempSync(join(tmpdir(), 'wa-bench-pm2-'));
  const env = { ...process.env, PM2_HOME: home };
  const pm2 = (args) => promisify(execFile)(PM2_BIN, args, { env, maxBuffer: 64 * 1024 * 1024 });
  let child;
  const close = async () => {
    await child?.stop(15_000);
    if (alive(pidIn(join(home, 'pm2.pid')))) await pm2(['kill']).catch(() => {}); // the child could not: daemon and apps
    for (const file of existsSync(join(home, 'pids')) ? readdirSync(join(home, 'pids')) : []) {
      const pid = pidIn(join(home, 'pids', file));
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(home, { recursive: true, force: true });
  };
  try {
    child = await spawnReady(process.execPath, [CHILD], { env, stopSignal: 'stdin', readyMs: 60_000 });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    home, env, pm2, close,
    /** Starts PM2 apps (ecosystem `apps` entries) through the connected daemon. */
    async start(apps) {
      child.proc.stdin.write(`${JSON.stringify(apps)}\n`);
      const answer = await child.next();
      if (answer.error) throw new Error(`pm2 start: ${answer.error}`);
    },
    /** The apps PM2 runs: [{name, pid, status, memory}]. */
    async list() {
      const { stdout } = await pm2(['jlist']);
      return JSON.parse(stdout).map((p) => ({ name: p.name, pid: p.pid, status: p.pm2_env?.status, memory: p.monit?.memory }));
    },
  };
}

function pidIn(file) {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
