// The packed connectors/utils/echo workers run for real: bundled worker.mjs (SDK + grpc-js inside) against a real router.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PACKAGE_LIMITS } from '../../src/packages/limits.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import { verifyAndUnpack } from '../../src/packages/verify.js';
import { connectRouter } from '../../src/sdk/index.js';
import { testEnv } from '../helpers/env.js';
import { createCleanup, tempDir } from '../helpers/repo.js';
import { startTestRouter } from '../helpers/router.js';

const connectors = fileURLToPath(new URL('../../connectors', import.meta.url));
const cleanup = createCleanup();
afterEach(() => cleanup.run());

// Announces, spawns the unpacked worker as the admin would (stdin line, argv) and waits for it to be READY.
async function runWorker(dir: string, version: string, router: Awaited<ReturnType<typeof startTestRouter>>): Promise<ChildProcess> {
  const token = randomBytes(24).toString('hex');
  const identifier = `utils-echo-${version.replace('.', '-')}`;
  const client = connectRouter({ address: router.address, token: router.adminToken });
  await client.rpc.expectWorker({ identifier, version, type: 'utils', product: 'echo', token_sha256: createHash('sha256').update(token).digest('hex'), commands: ['ECHO', 'SLOW'] });
  client.close();
  const child = spawn(process.execPath, [join(dir, 'worker.mjs'), '--identifier', identifier, '--target', router.address], { cwd: dir, stdio: ['pipe', 'ignore', 'pipe'], env: testEnv() });
  cleanup.add(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin?.end(`${JSON.stringify({ identifier, target: router.address, token, type: 'utils', product: 'echo', version, config: { greeting: 'hello', max_sleep_ms: 60000, flavor: 'classic' } })}\n`);
  const deadline = Date.now() + 15_000;
  const probe = connectRouter({ address: router.address, token: router.clientToken });
  cleanup.add(() => probe.close());
  for (;;) {
    const list = await probe.rpc.listWorkers();
    if (list.workers.some((w) => w.identifier === identifier && w.state === 'READY')) return child;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`echo ${version} did not become READY: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('connectors/utils/echo packed', () => {
  it('1.0 and 1.1 answer ECHO and SLOW; 1.1 answers VERSION', async () => {
    const out = tempDir(cleanup);
    const state = tempDir(cleanup);
    await packRepository({ src: connectors, out });
    const router = await startTestRouter();
    cleanup.add(() => router.close());
    const client = connectRouter({ address: router.address, token: router.clientToken });
    cleanup.add(() => client.close());
    for (const version of ['1.0', '1.1']) {
      const dir = join(state, version);
      await verifyAndUnpack({ zipPath: join(out, `utils/echo/${version.replace('.', '_')}_worker.zip`), dir, limits: DEFAULT_PACKAGE_LIMITS });
      await runWorker(dir, version, router);
      const target = `utils-echo-${version.replace('.', '-')}`;
      expect(await client.send('ECHO', { text: 'hi' }, { target })).toMatchObject({ status: 'SUCCESS', payload: { text: 'hi' } });
      expect(await client.send('SLOW', { ms: 20 }, { target })).toMatchObject({ status: 'SUCCESS', payload: { slept: 20 } });
    }
    expect(await client.send('VERSION', {}, { target: 'utils-echo-1-1' })).toMatchObject({ status: 'SUCCESS', payload: { version: '1.1' } });
  });
});
