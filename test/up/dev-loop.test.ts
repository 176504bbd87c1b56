// The development loop's refusals: new bytes that do not become READY leave the old process serving (UPDATE_FAILED,
// rolledBack), sources that do not pack leave the repository and the instance as they were, reloads asked for during a
// reload are served by one more, and production or a fleet host has no loop at all.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { startStack, type RunningStack } from '../../src/up/stack.js';
import { payloadOf, sendAdmin, watchAdminEvents } from '../helpers/admin-events.js';
import { alive } from '../helpers/stack.js';
import { createCleanup, tempDir, writeTree } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const worker = (body: string): string => `import { startWorker } from 'worker-admin/sdk';\n${body}\n`;
const answering = (mark: string): string => worker(`await startWorker({ commands: { ECHO: async () => ({ mark: ${JSON.stringify(mark)} }) } });`);

async function start(root: string, mode: 'development' | 'production'): Promise<{ stack: RunningStack; file: string; stateDir: string }> {
  const src = join(root, 'connectors');
  await writeTree(src, {
    'tests/dev/1_configuration.yaml': 'commands:\n  - name: ECHO\n    schema: { type: object }\nevents: []\n',
    'tests/dev/1/0/worker/worker.mjs': answering('old'),
  });
  const stateDir = join(root, 'state');
  const config = parseAdminConfigObject({
    stateDir, mode, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' },
    connectors: [{ type: 'tests', product: 'dev', versions: ['1.0'] }], timeouts: { start: '60s', drain: '10s', kill: '2s' },
  }, { file: '<test>', env: {} });
  const stack = await startStack({ config, connectorsDir: src, logger: createLogger('test', { level: 'silent' }) });
  cleanup.add(() => stack.close());
  return { stack, file: join(src, 'tests/dev/1/0/worker/worker.mjs'), stateDir };
}

describe('up: the development loop', () => {
  it('new bytes that exit at start, then sources that do not pack: the old process serves throughout', async () => {
    const { stack, file, stateDir } = await start(tempDir(cleanup), 'development');
    const rpc = createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken });
    cleanup.add(() => rpc.close());
    const events = watchAdminEvents(rpc, (e) => ({ event: e.event, ...payloadOf(e) }));
    cleanup.add(() => events.cancel());
    await events.ready;
    const echo = async (): Promise<unknown> => (await sendAdmin(rpc, 'ECHO', {})).data;
    const pid = stack.admin.registry.get('tests-dev-1')!.worker!.pid;
    expect(await echo()).toEqual({ mark: 'old' });
    const versions = (): string => readFileSync(join(stateDir, 'repository/tests/dev/versions.yaml'), 'utf8');

    await writeFile(file, worker("process.stderr.write('broken on purpose\\n'); process.exit(3);"));
    const failed = await stack.devLoop!.reload('test');
    expect(failed.republished.map((r) => r.version)).toEqual(['1.0']);
    expect(failed.moved).toEqual([{ id: 'tests/dev@1.0', moved: [], failed: [{ identifier: 'tests-dev-1', reason: expect.stringMatching(/^WORKER_EXITED: .*code 3/) }] }]);
    const update = await events.waitFor((e) => e.event === 'UPDATE_FAILED', 10_000, 0);
    expect(update).toMatchObject({ trigger: 'republish', identifier: 'tests-dev-1', from: '1.0', to: '1.0', rolledBack: true });
    const instance = stack.admin.registry.get('tests-dev-1')!;
    expect([instance.state, instance.worker!.pid, instance.republished]).toEqual(['READY', pid, undefined]);
    expect(await echo()).toEqual({ mark: 'old' });

    const listed = versions();
    await writeFile(file, worker('await startWorker({ commands: { ECHO: async () => ( }); // a syntax error'));
    await expect(stack.devLoop!.reload('test')).rejects.toThrow(/worker\.mjs/);
    expect(versions()).toBe(listed);
    expect(instance.worker!.pid).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect(await echo()).toEqual({ mark: 'old' });

    // fixed: reloads asked for during one are served by a single reload after it, which sees the last edit
    await writeFile(file, answering('fixed'));
    const first = stack.devLoop!.reload('one');
    const [second, third] = [stack.devLoop!.reload('two'), stack.devLoop!.reload('three')];
    expect(second).toBe(third);
    expect((await first).moved.map((m) => m.moved)).toEqual([['tests-dev-1']]);
    expect((await second).moved).toEqual([]);
    expect(await echo()).toEqual({ mark: 'fixed' });
    expect(stack.admin.registry.statuses()[0]).toMatchObject({ state: 'READY', restarts: 0, republished: { from: expect.any(String), to: expect.any(String) } });
  }, 240_000);

  it('production has no development loop', async () => {
    const { stack } = await start(tempDir(cleanup), 'production');
    expect(stack.devLoop).toBeUndefined();
  }, 120_000);
});
