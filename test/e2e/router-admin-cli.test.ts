// The production layout: `repo serve`, `router` and `admin` as three processes; clients with explicit --router/--token.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.js';
import { stopRecordedWorkers } from '../helpers/leftovers.js';
import { alive, ROOT } from '../helpers/stack.js';

const BIN = join(ROOT, 'bin/worker-admin.js');
const ADMIN_TOKEN = 'a'.repeat(20) + '-admin-token-for-tests-0001';
const CLIENT_TOKEN = 'c'.repeat(20) + '-client-token-for-tests-0001';
const env = testEnv({ WORKER_ADMIN_TOKEN: ADMIN_TOKEN, WORKER_ADMIN_CLIENT_TOKEN: CLIENT_TOKEN, WORKER_ADMIN_LOG_LEVEL: 'warn' });

/** Spawns a long-running subcommand and resolves with the first stdout line matching `ready`. */
function daemon(args: string[], ready: RegExp, procs: ChildProcess[]): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready:\n${out}\n${err}`)), 90_000); // a loaded 2-core machine
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}:\n${out}\n${err}`)));
  });
}

describe('router, admin and repository as separate processes', () => {
  const procs: ChildProcess[] = [];
  let dir: string;
  let router: string;
  let admin: ChildProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-3p-'));
    const pack = spawnSync(process.execPath, [BIN, 'pack', join(ROOT, 'connectors'), '--out', join(dir, 'repo')], { encoding: 'utf8', env: testEnv() });
    expect(pack.status, pack.stderr).toBe(0);
    const repo = await daemon(['repo', 'serve', join(dir, 'repo'), '--listen', '127.0.0.1:0'], /repository listening on (\S+)/, procs);
    const r = await daemon(['router', '--listen', `unix:${join(dir, 'router.sock')}`, '--state-dir', join(dir, 'router-state')], /router listening on (\S+)/, procs);
    router = r.match[1]!;
    writeFileSync(join(dir, 'admin.yaml'), [
      'stateDir: admin-state',
      `router: { address: "${router}", token: "\${WORKER_ADMIN_TOKEN}" }`,
      `repository: { url: "${repo.match[1]}" }`,
      'ops: { listen: "127.0.0.1:0" }',
      'connectors:',
      '  - { type: utils, product: echo, versions: ["1.0"], config: { greeting: hi } }',
      '',
    ].join('\n'));
    admin = (await daemon(['admin', '--config', join(dir, 'admin.yaml')], /admin connected to/, procs)).child;
  }, 180_000); // pack, then three processes started one after the other on a loaded machine

  afterAll(async () => {
    await Promise.all(procs.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGKILL');
      await exited;
    }));
    await stopRecordedWorkers(join(dir, 'admin-state')); // the workers of the admin just killed, by the pids it recorded
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (args: string[], token = ADMIN_TOKEN) => {
    const r = spawnSync(process.execPath, [BIN, 'send', ...args, '--router', router, '--token', token], { encoding: 'utf8', timeout: 30_000, env: testEnv() });
    return { status: r.status, reply: JSON.parse(r.stdout || 'null') as Record<string, unknown> | null, stderr: r.stderr };
  };

  it('the admin starts its configured connector; a client with the client token is served', async () => {
    let reply: ReturnType<typeof send> | undefined;
    for (let i = 0; i < 100; i++) {
      reply = send(['ECHO', '{"via":"client"}'], CLIENT_TOKEN);
      if (reply.reply?.['status'] === 'SUCCESS') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply?.reply).toMatchObject({ status: 'SUCCESS', payload: { via: 'client' }, worker: 'utils-echo-1@1.0' });
  });

  it('refuses ADMIN_* with the client token (UNAUTHENTICATED) and serves it with the admin token', () => {
    const refused = send(['ADMIN_LIST_WORKERS', '{}'], CLIENT_TOKEN);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/UNAUTHENTICATED/);
    const listed = send(['ADMIN_LIST_WORKERS', '{}']);
    expect(listed.status).toBe(0);
    expect((listed.reply?.['payload'] as { workers: unknown[] }).workers).toEqual([expect.objectContaining({ identifier: 'utils-echo-1', version: '1.0', state: 'READY' })]);
  });

  it('SIGTERM to the admin drains and stops its workers, then exits 0; the router stays up', async () => {
    const listed = send(['ADMIN_LIST_WORKERS', '{}']);
    const pid = ((listed.reply?.['payload'] as { workers: Array<{ pid: number }> }).workers[0]!).pid;
    admin.kill('SIGTERM');
    const code = await new Promise((r) => admin.once('exit', r));
    expect(code).toBe(0);
    expect(alive(pid)).toBe(false);
    const after = send(['ECHO', '{}', '--timeout', '1s']);
    expect(after.reply?.['status']).toBe('NO_WORKER');
  });
});
