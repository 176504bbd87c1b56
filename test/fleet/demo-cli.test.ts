// `worker-admin fleet demo` as a user runs it: ready line, ECHO through host-a served on host-c, `fleet status`
// listing the three hosts live, then SIGINT stops every process it started and it exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startBareStack } from '../helpers/stack.js';
import { fleetSkipReason } from './engines.js';

const BIN = join(ROOT, 'bin', 'worker-admin.js');
const skip = await fleetSkipReason();
// Built here, not inherited: no WORKER_ADMIN_* variable of the caller reaches the CLI.
const ENV = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip !== undefined)('worker-admin fleet demo', () => {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', 'wa-fleet-demo-'));
  let demo: ChildProcess | undefined;
  let pids: number[] = [];

  afterAll(async () => {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise((r) => demo!.once('exit', r));
      demo.kill('SIGKILL');
      await exited;
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('starts engines, a repository and three hosts, serves ECHO from host-a on host-c, and stops all on SIGINT', async () => {
    const proc = spawn(process.execPath, [BIN, 'fleet', 'demo', '--dir', dir], { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    demo = proc;
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/^ready: /m.test(stdout)) resolve();
      });
      void exited.then(({ code }) => reject(new Error(`fleet demo exited (${code}) before its ready line:\n${stdout}\n${stderr}`)));
    });
    pids = [...stdout.matchAll(/ pid (\d+)/g)].map((m) => Number(m[1]));
    expect(stdout).toMatch(/^ {2}nats-server {2}nats:\/\/127\.0\.0\.1:\d+ {2}pid \d+$/m);
    expect(stdout).toMatch(/^ {2}etcd {9}http:\/\/127\.0\.0\.1:\d+ {2}pid \d+$/m);
    for (const host of ['host-a', 'host-b', 'host-c']) expect(stdout).toMatch(new RegExp(`^ {2}${host} +router unix:\\S+ {2}ops 127\\.0\\.0\\.1:\\d+ {2}pid \\d+`, 'm'));
    expect(pids).toHaveLength(5);
    expect(pids.every(alive)).toBe(true);
    const hostA = join(dir, 'host-a');
    expect(stdout).toContain(`send ECHO '{"text":"hi"}' --state-dir ${hostA}`);

    // the try-this line, as printed: host-a has no worker, host-c's utils-echo-1 serves it
    const sent = await cli(['send', 'ECHO', '{"text":"hi"}', '--state-dir', hostA]);
    expect(sent.code, sent.stderr).toBe(0);
    const reply = JSON.parse(sent.stdout) as { status: string; worker: string; payload: unknown };
    expect(reply.status).toBe('SUCCESS');
    expect(reply.worker).toMatch(/^utils-echo-1@1\.\d+$/);
    expect(reply.payload).toEqual({ text: 'hi' });

    const status = await cli(['fleet', 'status', '--state-dir', hostA]);
    expect(status.code, status.stderr).toBe(0);
    for (const host of ['host-a', 'host-b', 'host-c']) expect(status.stdout).toMatch(new RegExp(`^${host} +live `, 'm'));
    expect(status.stdout).toMatch(/^host-c +live .*utils-echo-1@1\.\d+ READY$/m);
    expect(status.stdout).toContain('engines  nats connected · etcd reachable');
    const json = await cli(['fleet', 'status', '--state-dir', hostA, '--json']);
    expect((JSON.parse(json.stdout) as { hosts: Array<{ name: string; status: string }> }).hosts.map((h) => [h.name, h.status])).toEqual([['host-a', 'live'], ['host-b', 'live'], ['host-c', 'live']]);

    proc.kill('SIGINT');
    const end = await exited;
    expect(end, `${stdout}\n${stderr}`).toEqual({ code: 0, signal: null });
    expect(stdout).toMatch(/^stopped$/m);
    expect(pids.filter(alive)).toEqual([]);
  }, 180_000);
});

describe('worker-admin fleet status against a host without a fleet', () => {
  it('exits 1 saying the host is not a fleet host', async () => {
    const stateDir = mkdtempSync(join('/tmp', 'wa-fleet-status-'));
    const stack = await startBareStack(stateDir);
    try {
      const result = await cli(['fleet', 'status', '--ops', stack.credentials.ops]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`the host whose ops API is ${stack.credentials.ops} is not a fleet host`);
      expect(result.stdout).toBe('');
    } finally {
      await stack.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
