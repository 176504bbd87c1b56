// `worker-admin router` as a real process: prints where it listens, serves, closes on SIGTERM with exit 0.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.js';
import { makeToken } from '../helpers/router.js';
import { routerClient, unary } from '../router/raw.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'worker-admin.js');

function runRouter(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, 'router', ...args], { env: testEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const listening = new Promise<string>((done, fail) => {
    child.stdout.on('data', () => {
      const m = /router listening on (\S+)\n/.exec(stdout);
      if (m) done(m[1]!);
    });
    void exited.then((code) => fail(new Error(`router exited ${code}: ${stderr}`)));
  });
  listening.catch(() => undefined);
  return { child, exited, listening, out: () => ({ stdout, stderr }) };
}

describe('worker-admin router', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wa-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults to unix:{state-dir}/router.sock, serves, and exits 0 on SIGTERM', async () => {
    const admin = makeToken();
    const r = runRouter(['--state-dir', join(dir, 'st')], { WORKER_ADMIN_TOKEN: admin });
    const address = await r.listening;
    expect(address).toBe(`unix:${join(dir, 'st', 'router.sock')}`);
    expect(r.out().stdout).toBe(`router listening on ${address}\n`);
    const client = routerClient(address);
    expect(await unary(client, 'ListWorkers', {}, admin)).toMatchObject({ workers: [], queue_size: 0 });
    client.close();
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    await expect(stat(join(dir, 'st', 'router.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads tokens from --token-file and listens on TCP port 0; SIGINT exits 0', async () => {
    const tokens = { adminToken: makeToken(), clientToken: makeToken() };
    await writeFile(join(dir, 'tokens.json'), JSON.stringify(tokens));
    const r = runRouter(['--listen', '127.0.0.1:0', '--state-dir', dir, '--token-file', join(dir, 'tokens.json')], {});
    const address = await r.listening;
    expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    const client = routerClient(address);
    expect(await unary(client, 'ListWorkers', {}, tokens.clientToken)).toMatchObject({ workers: [] });
    client.close();
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });

  it('without an admin token it refuses to start, naming the sources', async () => {
    const r = runRouter(['--state-dir', dir], {});
    expect(await r.exited).not.toBe(0);
    expect(r.out().stderr).toMatch(/AUTH_INVALID: no admin token: set WORKER_ADMIN_TOKEN/);
  });

  it('refuses a non-loopback address without --insecure', async () => {
    const r = runRouter(['--listen', '0.0.0.0:0', '--state-dir', dir], { WORKER_ADMIN_TOKEN: makeToken() });
    expect(await r.exited).not.toBe(0);
    expect(r.out().stderr).toMatch(/--insecure/);
  });
});
