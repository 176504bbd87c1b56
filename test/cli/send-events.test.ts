// `worker-admin send` and `worker-admin events` as a user runs them: node bin/worker-admin.js against a real router and worker.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner, type CliRun } from '../helpers/cli.js';
import { testEnv } from '../helpers/env.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { REPO_ROOT, killAllFixtureWorkers, spawnFixtureWorker } from '../helpers/workers.js';

const BIN = join(REPO_ROOT, 'bin', 'worker-admin.js');
let router: TestRouter;
let dir: string;
const runner = cliRunner(() => dir);
const cli = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> => runner.run(args, opts);

const send = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<CliRun> =>
  cli(['send', ...args, '--router', router.address, '--token', router.clientToken], opts);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wa-cli-'));
  router = await startTestRouter();
  const w = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'echo.mjs', identifier: 'cli-echo' });
  await w.waitForOutput('ready cli-echo@1.0');
});
afterAll(async () => {
  runner.kill();
  await killAllFixtureWorkers();
  await router?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('worker-admin send', () => {
  it('prints the Reply as one JSON object with exactly uuid, status, payload, error, worker; exit 0 on SUCCESS', async () => {
    const run = await send(['ECHO', '{"text":"hi"}', '--target', 'cli-echo', '--timeout', '5s']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const reply = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(reply).sort()).toEqual(['error', 'payload', 'status', 'uuid', 'worker']);
    expect(reply).toMatchObject({ status: 'SUCCESS', payload: { text: 'hi' }, error: '', worker: 'cli-echo@1.0' });
    expect(reply['uuid']).toMatch(/\S/);
  });

  it('exit 1 on FAIL, NO_WORKER and INVALID, with payload null', async () => {
    const [fail, none, invalid] = await Promise.all([send(['FAIL', '{"message":"nope"}']), send(['NOBODY_HOME']), send(['ECHO', 'not json'])]);
    expect(fail.code).toBe(1);
    expect(JSON.parse(fail.stdout)).toMatchObject({ status: 'FAIL', error: 'nope', payload: null });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout).status).toBe('NO_WORKER');
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout).status).toBe('INVALID');
  });

  it('reads the payload from @FILE and from stdin (-)', async () => {
    writeFileSync(join(dir, 'payload.json'), '{"from":"file"}');
    const file = await send(['ECHO', `@${join(dir, 'payload.json')}`]);
    expect(JSON.parse(file.stdout).payload).toEqual({ from: 'file' });
    const stdin = await send(['ECHO', '-'], { input: '{"from":"stdin"}' });
    expect(JSON.parse(stdin.stdout).payload).toEqual({ from: 'stdin' });
    const missing = await send(['ECHO', '@/nonexistent/payload.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/payload.json/);
  });

  it('finds router and token in the environment or {stateDir}/credentials.json; says so when there is none', async () => {
    const stateDir = join(dir, 'state');
    const viaEnv = await cli(['send', 'ECHO', '{"via":"env"}', '--router', router.address, '--state-dir', stateDir], { env: { WORKER_ADMIN_CLIENT_TOKEN: router.clientToken } });
    expect(JSON.parse(viaEnv.stdout).payload).toEqual({ via: 'env' });
    const none = await cli(['send', 'ECHO', '--state-dir', stateDir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no client token.*WORKER_ADMIN_CLIENT_TOKEN/);
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify({ router: router.address, clientToken: router.clientToken, adminToken: router.adminToken }));
    const viaFile = await cli(['send', 'ECHO', '{"via":"file"}', '--state-dir', dir]);
    expect(viaFile.code).toBe(0);
    expect(JSON.parse(viaFile.stdout).payload).toEqual({ via: 'file' });
    // ADMIN_* goes with the admin token: the router accepts it and answers (nobody serves it here)
    const adminCmd = await cli(['send', 'ADMIN_NOBODY', '--state-dir', dir]);
    expect(JSON.parse(adminCmd.stdout).status).toBe('NO_WORKER');
    const badToken = await cli(['send', 'ECHO', '--router', router.address, '--token', 'w'.repeat(40)]);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/UNAUTHENTICATED/);
  });
});

describe('worker-admin events', () => {
  it('prints one JSON line per event with the payload parsed, until SIGINT (exit 0)', async () => {
    const child = spawn(process.execPath, [BIN, 'events', '--topic', 'test/echo', '--router', router.address, '--token', router.clientToken], {
      cwd: dir, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const lines = new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.includes('\n')) resolve();
    }));
    const watching = new Promise<void>((resolve) => child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('watching')) resolve();
    }));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await watching;
      expect((await send(['ECHO', '{"n":42}'])).code).toBe(0);
      await lines;
      const event = JSON.parse(stdout.split('\n')[0]!) as Record<string, unknown>;
      expect(event).toMatchObject({ topic: 'test/echo', event: 'ECHOED', source: 'cli-echo@1.0', payload: { payload: { n: 42 } } });
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
