// The development loop of `up` as a person runs it: a real `up` on a connectors tree in a temp dir, a client sending a
// steady stream of commands, a worker edited in place; SIGHUP (or --watch) moves the instance onto the new bytes by a
// rolling update: every command gets exactly one SUCCESS reply, the replies switch from the old answer to the new one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectRouter, type RouterClient } from '../../src/sdk/client.js';
import type { ReplyResult } from '../../src/sdk/types.js';
import { parseVersionsYaml } from '../../src/repository/versions.js';
import { testEnv } from '../helpers/env.js';
import { stopUpRuns } from '../helpers/leftovers.js';
import { writeTree } from '../helpers/repo.js';
import { alive, ROOT } from '../helpers/stack.js';

const BIN = join(ROOT, 'bin/worker-admin.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
const clients: RouterClient[] = [];

/** ECHO answers {text, mark} after a short wait, so that commands are in flight when the old process drains. */
const worker = (mark: string): string => `import { setTimeout as sleep } from 'node:timers/promises';
import { startWorker } from 'worker-admin/sdk';
await startWorker({ commands: { ECHO: async (payload) => { await sleep(15); return { text: payload.text, mark: ${JSON.stringify(mark)} }; } } });
`;

async function project(mode: 'development' | 'production'): Promise<{ dir: string; config: string; workerFile: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-devloop-e2e-'));
  dirs.push(dir);
  await writeTree(join(dir, 'connectors'), {
    'tests/dev/1_configuration.yaml': 'commands:\n  - name: ECHO\n    schema: { type: object }\nevents: []\n',
    'tests/dev/1/0/worker/worker.mjs': worker('old'),
  });
  const config = join(dir, 'admin.yaml');
  writeFileSync(config, `mode: ${mode}\nstateDir: state\nrouter: { address: "unix:state/router.sock" }\nops: { listen: "127.0.0.1:0" }\n`
    + 'timeouts: { start: 60s, drain: 30s, kill: 5s }\nconnectors:\n  - { type: tests, product: dev, versions: ["1.0"] }\n');
  return { dir, config, workerFile: join(dir, 'connectors/tests/dev/1/0/worker/worker.mjs') };
}

interface Up {
  child: ChildProcess;
  err: () => string;
  /** Resolves once stderr holds `count` log lines matching `re`. */
  logged(re: RegExp, count?: number): Promise<void>;
}

function startUp(dir: string, config: string, extra: string[] = []): Promise<Up> {
  const child = spawn(process.execPath, [BIN, 'up', '--config', config, '--connectors', join(dir, 'connectors'), ...extra], {
    cwd: dir, env: testEnv({ WORKER_ADMIN_LOG_LEVEL: 'info' }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const logged = (re: RegExp, count = 1): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${count}× ${re} in the log within 180 s:\n${err.slice(-4000)}`)), 180_000);
    const check = (): void => {
      if (err.split('\n').filter((l) => re.test(l)).length >= count) {
        clearTimeout(timer);
        resolve();
      } else waiters.push(check);
    };
    check();
  });
  return new Promise((resolve, reject) => {
    // the first run bundles the worker: slow on a loaded 2-core machine
    const timer = setTimeout(() => reject(new Error(`up did not get ready:\n${out}\n${err.slice(-3000)}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready:')) {
        clearTimeout(timer);
        resolve({ child, err: () => err, logged });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`up exited with ${code}:\n${out}\n${err.slice(-3000)}`));
    });
  });
}

function client(stateDir: string): RouterClient {
  const credentials = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as { router: string; adminToken: string };
  const c = connectRouter({ address: credentials.router, token: credentials.adminToken });
  clients.push(c);
  return c;
}

interface Stream {
  /** Replies in the order they came, each with the number of its command (the order they were sent). */
  replies: Array<{ sentAt: number; reply: ReplyResult }>;
  /** Commands sent so far. */
  sent(): number;
  /** Resolves once `n` replies came. */
  until(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** Sends ECHO from `lanes` loops, one command at a time each, until `stop()`. */
function steadyStream(c: RouterClient, lanes: number): Stream {
  const replies: Stream['replies'] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: lanes }, async (_, lane) => {
    while (running) {
      const sentAt = sent++;
      replies.push({ sentAt, reply: await c.send('ECHO', { text: `${lane}-${sentAt}` }, { timeout: '60s' }) });
      for (const w of waiters.filter((x) => replies.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    replies,
    sent: () => sent,
    until: (n) => (replies.length >= n ? Promise.resolve() : new Promise((resolve) => void waiters.push({ n, resolve }))),
    stop: async () => { running = false; await Promise.all(loops); },
  };
}

interface Row { identifier: string; version: string; state: string; pid: number; restarts: number; republished?: { at: string; from: string; to: string } }

async function listWorkers(c: RouterClient): Promise<Row[]> {
  const reply = await c.send('ADMIN_LIST_WORKERS', {});
  return (reply.payload as { workers: Row[] }).workers;
}

/** Edits the worker, moves it onto the new bytes with `trigger`, and checks what the client saw. */
async function editUnderLoad(p: { dir: string; workerFile: string }, up: Up, trigger: () => void): Promise<void> {
  const stateDir = join(p.dir, 'state');
  const c = client(stateDir);
  const [before] = await listWorkers(c);
  expect(before).toMatchObject({ identifier: 'tests-dev-1', version: '1.0', state: 'READY' });
  const oldPid = before!.pid;
  const stream = steadyStream(c, 4);
  await stream.until(20); // the old bytes answer first

  writeFileSync(p.workerFile, worker('new'));
  trigger();
  await up.logged(/"msg":"development mode: reload done"/);
  // the old process is gone by then: every command sent from now on meets the new bytes
  const sentAfter = stream.sent();
  await stream.until(stream.replies.length + 40);
  await stream.stop();

  // exactly one reply per command, every one SUCCESS, from the one instance: nothing lost, nothing failed
  const texts = stream.replies.map((r) => (r.reply.payload as { text: string }).text);
  expect(new Set(texts).size).toBe(stream.replies.length);
  expect(stream.replies.filter((r) => r.reply.status !== 'SUCCESS').map((r) => r.reply)).toEqual([]);
  expect(new Set(stream.replies.map((r) => r.reply.worker))).toEqual(new Set(['tests-dev-1@1.0']));
  // old answers first, the new ones once the reload is done
  const marks = stream.replies.map((r) => (r.reply.payload as { mark: string }).mark);
  expect(marks.slice(0, 20)).toEqual(Array(20).fill('old'));
  const late = stream.replies.filter((r) => r.sentAt >= sentAfter).map((r) => (r.reply.payload as { mark: string }).mark);
  expect(late.length).toBeGreaterThanOrEqual(30);
  expect(late).toEqual(Array(late.length).fill('new'));

  // the status says so, with the zips' sha256; the old process drained and stopped
  const [after] = await listWorkers(c);
  const listed = parseVersionsYaml(readFileSync(join(stateDir, 'repository/tests/dev/versions.yaml'), 'utf8'), { file: 'versions.yaml' });
  // the drain reached the old stream only: the new process was never drained, so it never exited nor restarted
  expect(after).toMatchObject({ identifier: 'tests-dev-1', version: '1.0', state: 'READY', restarts: 0, republished: { to: listed[0]!.sha256 } });
  expect(up.err()).not.toMatch(/"msg":"instance state".*"to":"RESTARTING"/);
  expect(after!.republished!.from).not.toBe(after!.republished!.to);
  expect(after!.pid).not.toBe(oldPid);
  expect(alive(oldPid)).toBe(false);
  const status = spawnSync(process.execPath, [BIN, 'status', '--state-dir', stateDir], { encoding: 'utf8', env: testEnv(), timeout: 60_000 });
  expect(status.stdout).toMatch(new RegExp(`tests-dev-1 .* re-published \\S+ \\(${after!.republished!.from.slice(0, 12)} → ${after!.republished!.to.slice(0, 12)}\\)`));
  expect(up.err()).toMatch(/development-mode re-publish: the version was edited in place/);
  expect(up.err()).toMatch(/running instances moved onto the new bytes by a rolling update/);
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  // workers of an `up` killed with -9 outlive it (stubborn ones on purpose): stopped by the pids it recorded
  await stopUpRuns(children, dirs);
});

describe('up, development mode: an edited worker moves onto its new bytes under load', () => {
  it('SIGHUP re-packs: a rolling update to the new bytes of 1.0, 0 commands lost; SIGTERM then exits 0', async () => {
    const p = await project('development');
    const up = await startUp(p.dir, p.config);
    await editUnderLoad(p, up, () => up.child.kill('SIGHUP'));
    // a second SIGHUP with nothing edited moves nothing
    up.child.kill('SIGHUP');
    await up.logged(/"msg":"development mode: reload done"/, 2);
    expect(up.err().match(/running instances moved onto the new bytes/g)).toHaveLength(1);
    const exited = once(up.child, 'exit');
    up.child.kill('SIGTERM');
    expect((await exited)[0]).toBe(0);
  }, 400_000);

  it('--watch: saving the file is enough', async () => {
    const p = await project('development');
    const up = await startUp(p.dir, p.config, ['--watch']);
    await up.logged(/"msg":"development mode: watching the connectors sources"/);
    await editUnderLoad(p, up, () => undefined);
  }, 400_000);

  it('production: --watch is refused (exit 2, naming the mode)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-devloop-e2e-'));
    dirs.push(dir);
    const config = join(dir, 'admin.yaml');
    writeFileSync(config, 'mode: production\nstateDir: state\nconnectors: []\n');
    const r = spawnSync(process.execPath, [BIN, 'up', '--config', config, '--watch'], { cwd: dir, encoding: 'utf8', env: testEnv(), timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--watch .*mode: development.*says mode: production/);
  });
});
