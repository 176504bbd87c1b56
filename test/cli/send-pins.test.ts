// `worker-admin send --product / --major / --uuid` as a user runs them (and the same pins in connectRouter().send): node bin/worker-admin.js against a real router
// with two products serving the same commands (test/echo at majors 1 and 2, test/twin).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRouter } from '../../src/sdk/client.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { REPO_ROOT, killAllFixtureWorkers, spawnFixtureWorker } from '../helpers/workers.js';

const BIN = join(REPO_ROOT, 'bin', 'worker-admin.js');
let router: TestRouter;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `worker-admin send …` with the client token, in an environment the test builds (nothing inherited but PATH). */
function send(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'send', ...args, '--router', router.address, '--token', router.clientToken], {
      cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const replyOf = (run: CliRun): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;

beforeAll(async () => {
  router = await startTestRouter();
  const workers = [
    { identifier: 'echo-1', version: '1.0', product: 'echo' },
    { identifier: 'echo-2', version: '2.0', product: 'echo' },
    { identifier: 'twin-1', version: '1.0', product: 'twin' },
  ];
  for (const w of workers) {
    const spawned = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'echo.mjs', type: 'test', ...w });
    await spawned.waitForOutput(`ready ${w.identifier}@${w.version}`);
  }
});
afterAll(async () => {
  await killAllFixtureWorkers();
  await router?.close();
});

describe('worker-admin send pins', () => {
  it('unpinned, a command two products serve is INVALID AMBIGUOUS_COMMAND (exit 1); --product picks one', async () => {
    const unpinned = await send(['ECHO', '{"n":1}', '--uuid', 'cli-ambiguous-uuid-1']);
    expect(unpinned.code).toBe(1);
    expect(replyOf(unpinned)).toMatchObject({ status: 'INVALID', payload: null, worker: '', error: 'AMBIGUOUS_COMMAND: ECHO is served by test/echo, test/twin; pin a product' });
    // The refusal is not kept for replay: the same uuid, now pinned, runs.
    const twin = await send(['ECHO', '{"n":1}', '--uuid', 'cli-ambiguous-uuid-1', '--product', 'test/twin']);
    expect(twin.code).toBe(0);
    expect(replyOf(twin)).toMatchObject({ uuid: 'cli-ambiguous-uuid-1', status: 'SUCCESS', payload: { n: 1 }, worker: 'twin-1@1.0' });
  });

  it('--major pins the major version within the product', async () => {
    const one = await send(['ECHO', '{}', '--product', 'test/echo', '--major', '1']);
    const two = await send(['ECHO', '{}', '--product', 'test/echo', '--major', '2']);
    expect([replyOf(one)['worker'], replyOf(two)['worker']]).toEqual(['echo-1@1.0', 'echo-2@2.0']);
    const none = await send(['ECHO', '{}', '--product', 'test/twin', '--major', '2', '--timeout', '300ms']);
    expect(replyOf(none)).toMatchObject({ status: 'NO_WORKER', error: expect.stringMatching(/^NO_WORKER: /) });
  });

  it('--uuid replays: the same reply again, and UUID_CONFLICT for another payload under that uuid', async () => {
    const args = ['CONFIG', '{}', '--product', 'test/echo', '--major', '2', '--uuid', 'cli-pinned-uuid-1'];
    const first = await send(args);
    expect(replyOf(first)).toMatchObject({ uuid: 'cli-pinned-uuid-1', status: 'SUCCESS', worker: 'echo-2@2.0', payload: { identifier: 'echo-2', version: '2.0' } });
    const again = await send(args);
    expect(replyOf(again)).toEqual(replyOf(first));
    const conflict = await send(['CONFIG', '{"other":true}', '--product', 'test/echo', '--uuid', 'cli-pinned-uuid-1']);
    expect(conflict.code).toBe(1);
    expect(replyOf(conflict)).toMatchObject({ uuid: 'cli-pinned-uuid-1', status: 'INVALID', error: 'UUID_CONFLICT: uuid cli-pinned-uuid-1 was already used with another command or payload' });
  });

  it('--target needs no product pin; a bad --product or --major is refused', async () => {
    expect(replyOf(await send(['ECHO', '{}', '--target', 'twin-1']))).toMatchObject({ status: 'SUCCESS', worker: 'twin-1@1.0' });
    const badProduct = await send(['ECHO', '{}', '--product', 'twin']);
    expect(replyOf(badProduct)).toMatchObject({ status: 'INVALID', error: expect.stringMatching(/^NAME_INVALID: product "twin" is invalid: it must be "type\/product"/) });
    const badMajor = await send(['ECHO', '{}', '--product', 'test/echo', '--major', 'one']);
    expect(badMajor.code).toBe(2);
    expect(badMajor.stderr).toMatch(/--major "one" must be a major version number/);
  });

  it('connectRouter().send takes the same pins: product, major, uuid', async () => {
    const client = connectRouter({ address: router.address, token: router.clientToken });
    try {
      expect(await client.send('ECHO', { n: 3 })).toMatchObject({ status: 'INVALID', error: 'AMBIGUOUS_COMMAND: ECHO is served by test/echo, test/twin; pin a product' });
      const pinned = await client.send('CONFIG', {}, { product: 'test/echo', major: 1, uuid: 'sdk-pinned-uuid-1' });
      expect(pinned).toMatchObject({ uuid: 'sdk-pinned-uuid-1', status: 'SUCCESS', worker: 'echo-1@1.0' });
      expect(await client.send('CONFIG', {}, { product: 'test/echo', major: 1, uuid: 'sdk-pinned-uuid-1' })).toEqual(pinned);
    } finally {
      client.close();
    }
  });
});
