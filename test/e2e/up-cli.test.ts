// `worker-admin up` as a person runs it: a real process, the CLI to send commands, signals, kill -9 and a second run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { testEnv } from '../helpers/env.js';
import { stopUpRuns } from '../helpers/leftovers.js';
import { alive, FIXTURE_CONNECTORS, ROOT } from '../helpers/stack.js';

const BIN = join(ROOT, 'bin/worker-admin.js');
const SECRET = 'sk-live-THIS-MUST-NEVER-LEAK-4242';
const ADMIN_TOKEN = 'admin-token-that-must-not-leak-0123456789abcdef';
const children: ChildProcess[] = [];
const dirs: string[] = [];

function writeConfig(dir: string, connectors: string): string {
  const file = join(dir, 'admin.yaml');
  writeFileSync(file, `stateDir: state\nrouter: { address: "unix:state/router.sock" }\nops: { listen: "127.0.0.1:0" }\ntimeouts: { start: 10s, drain: 10s, kill: 2s }\nconnectors:\n${connectors}`);
  return file;
}

/** Starts `up` and resolves once it printed its ready line; output is collected. */
function startUp(config: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; out: () => string; err: () => string }> {
  const child = spawn(process.execPath, [BIN, 'up', '--config', config, '--connectors', join(ROOT, 'connectors'), '--connectors', FIXTURE_CONNECTORS], {
    cwd: ROOT, env: testEnv({ WORKER_ADMIN_LOG_LEVEL: 'info', ...env }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    // a first run bundles every connector (echo, http/poll, the fixtures) and zips mail/smtp: slow on a loaded 2-core machine
    const timer = setTimeout(() => reject(new Error(`up did not get ready:\n${out}\n${err.slice(-3000)}`)), 90_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready:')) {
        clearTimeout(timer);
        resolve({ child, out: () => out, err: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`up exited with ${code}:\n${out}\n${err.slice(-3000)}`));
    });
  });
}

function cli(args: string[], stateDir: string): { status: number | null; json: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [BIN, ...args, '--state-dir', stateDir], { encoding: 'utf8', timeout: 30_000, env: testEnv() });
  return { status: r.status, json: JSON.parse(r.stdout || '{}') as Record<string, unknown> };
}

const listWorkers = (stateDir: string) => (cli(['send', 'ADMIN_LIST_WORKERS', '{}'], stateDir).json['payload'] as { workers: Array<Record<string, unknown>> }).workers;

afterEach(async () => {
  // workers of an `up` killed with -9 outlive it (stubborn ones on purpose): stopped by the pids it recorded
  await stopUpRuns(children, dirs);
});

describe('worker-admin up', () => {
  it('runs from a clean state dir; send ECHO succeeds; SIGTERM drains a slow in-flight command to SUCCESS, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-up-'));
    dirs.push(dir);
    const config = writeConfig(dir, `  - { type: utils, product: echo, versions: ["^1"], config: { greeting: hello, api_key: "${SECRET}" } }\n`);
    const up = await startUp(config, { WORKER_ADMIN_TOKEN: ADMIN_TOKEN });
    const stateDir = join(dir, 'state');
    expect(up.out()).toMatch(/worker {6}utils-echo-1 utils\/echo@1\.1 READY/);
    const echo = cli(['send', 'ECHO', '{"text":"hi"}'], stateDir);
    expect(echo.status).toBe(0);
    expect(echo.json).toEqual({ uuid: expect.any(String), status: 'SUCCESS', payload: { text: 'hi' }, error: '', worker: 'utils-echo-1@1.1' });

    // No secret in any worker's argv or environment, nor in the logs.
    const pid = listWorkers(stateDir)[0]!['pid'] as number;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    expect(cmdline.split('\0').filter(Boolean).slice(-4)).toEqual(['--identifier', 'utils-echo-1', '--target', `unix:${join(stateDir, 'router.sock')}`]);
    for (const text of [cmdline, environ]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(ADMIN_TOKEN);
    }
    expect(environ.split('\0').filter(Boolean).map((kv) => kv.split('=')[0]).sort()).toEqual(expect.arrayContaining(['PATH']));
    expect(environ).not.toMatch(/WORKER_ADMIN|NODE_OPTIONS/);

    const slow = spawn(process.execPath, [BIN, 'send', 'SLOW', '{"ms":1500}', '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'], env: testEnv() });
    children.push(slow);
    let slowOut = '';
    slow.stdout!.on('data', (d: Buffer) => { slowOut += d.toString(); });
    // SIGTERM only once the router has handed SLOW to the worker
    const creds = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as { router: string; adminToken: string };
    const rpc = createRouterRpc({ address: creds.router, token: creds.adminToken });
    for (let i = 0; i < 200; i++) {
      const list = await rpc.listWorkers();
      if (list.workers.some((w) => w.identifier === 'utils-echo-1' && w.in_flight > 0)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    rpc.close();
    up.child.kill('SIGTERM');
    const [upCode, slowCode] = await Promise.all([
      new Promise((r) => up.child.once('exit', r)),
      new Promise((r) => slow.once('exit', r)),
    ]);
    expect(JSON.parse(slowOut)).toMatchObject({ status: 'SUCCESS', payload: { slept: 1500 } });
    expect(slowCode).toBe(0);
    expect(upCode).toBe(0);
    expect(alive(pid)).toBe(false);

    const logs = [up.err(), up.out(), ...readdirSync(join(stateDir, 'logs')).map((f) => readFileSync(join(stateDir, 'logs', f), 'utf8'))].join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(ADMIN_TOKEN);
  }, 180_000);

  it('after kill -9 of the admin, a new up stops the old worker processes and brings the desired instances back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-up-'));
    dirs.push(dir);
    const config = writeConfig(dir, '  - { type: tests, product: stubborn, versions: ["1.0"] }\n');
    const stateDir = join(dir, 'state');
    const first = await startUp(config);
    const started = cli(['send', 'ADMIN_START_WORKER', '{"product":"tests/stubborn","identifier":"extra"}'], stateDir);
    expect(started.json['status']).toBe('SUCCESS');
    const oldPids = listWorkers(stateDir).map((w) => w['pid'] as number);
    expect(oldPids).toHaveLength(2);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(oldPids.every(alive)).toBe(true); // stubborn workers outlive their admin: orphans

    const second = await startUp(config);
    // both were still running when the next run started (it stopped them, not their own end)
    const reaped = second.err().split('\n').filter((l) => l.includes('left behind by a previous admin run'))
      .map((l) => (JSON.parse(l) as { identifier: string }).identifier);
    expect(reaped.sort()).toEqual(['extra', 'tests-stubborn-1']);
    expect(oldPids.some(alive)).toBe(false);
    const workers = listWorkers(stateDir);
    expect(workers.map((w) => [w['identifier'], w['state']]).sort()).toEqual([['extra', 'READY'], ['tests-stubborn-1', 'READY']]);
    expect(workers.map((w) => w['pid'])).not.toEqual(expect.arrayContaining(oldPids));
  }, 240_000); // two `up` runs (the first packs every connector, the second reuses the unchanged packs): slow on a loaded 2-core machine
});
