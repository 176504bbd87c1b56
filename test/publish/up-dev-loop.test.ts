// `up` mirrors ./connectors in development mode: a version removed from the source is gone from the local repository,
// an edited one is re-published (its stored keys replaced, its new code run); production refuses the edit.
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { startStack, type RunningStack } from '../../src/up/stack.js';
import { sendAdmin } from '../helpers/admin-events.js';
import { writePubSource } from '../helpers/publish.js';
import { createCleanup, tempDir } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const worker = (mark: string): string => `import { startWorker } from 'worker-admin/sdk';
let worker;
worker = await startWorker({ commands: { CONFIG: async () => ({ mark: ${JSON.stringify(mark)}, config: worker?.config ?? {} }) } });
`;

async function up(stateDir: string, src: string, mode: 'development' | 'production', logs: string[]): Promise<RunningStack> {
  const config = parseAdminConfigObject({
    stateDir, mode, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' },
    connectors: [{ type: 'tests', product: 'pub', versions: ['1.1'] }], timeouts: { start: '20s', drain: '5s', kill: '2s' },
  }, { file: '<test>', env: {} });
  const destination = new Writable({ write(chunk: Buffer, _e, done) { logs.push(chunk.toString()); done(); } });
  const stack = await startStack({ config, connectorsDir: src, logger: createLogger('test', { level: 'info', destination, format: 'json' }) });
  cleanup.add(() => stack.close());
  return stack;
}

async function config(stack: RunningStack): Promise<unknown> {
  const rpc = createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken });
  try {
    return (await sendAdmin(rpc, 'CONFIG', {}, { target: 'tests-pub-1' })).data;
  } finally {
    rpc.close();
  }
}

describe('up: the local repository follows ./connectors', () => {
  it('development: a removed version is gone, an edited one is re-published and its new code and keys run', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'wa-devloop-'));
    cleanup.add(() => rmSync(stateDir, { recursive: true, force: true }));
    const src = tempDir(cleanup);
    await writePubSource(src, ['1.0', '1.1'], worker('first'));
    const logs: string[] = [];
    const first = await up(stateDir, src, 'development', logs);
    expect(await config(first)).toMatchObject({ mark: 'first', config: { flavor: 'flavor-1.1' } });
    await first.close();

    rmSync(join(src, 'tests/pub/1/0'), { recursive: true });
    await writePubSource(src, ['1.1'], worker('edited'));
    await writeFile(join(src, 'tests/pub/1/1/keys.yaml'), '- name: flavor\n  type: string\n  default: edited-flavor\n');
    const second = await up(stateDir, src, 'development', logs);
    const listed = readFileSync(join(stateDir, 'repository/tests/pub/versions.yaml'), 'utf8');
    expect(listed).not.toContain('"1.0"');
    expect(existsSync(join(stateDir, 'repository/tests/pub/1_0_worker.zip'))).toBe(false);
    expect(await config(second)).toMatchObject({ mark: 'edited', config: { flavor: 'edited-flavor' } });
    expect(logs.join('')).toContain('development-mode re-publish');
    expect(logs.join('')).toContain('versions no longer in the connectors source were removed from the local repository');
    await second.close();

    // production never rewrites a version
    await writePubSource(src, ['1.1'], worker('edited again'));
    const refused = await up(stateDir, src, 'production', logs).then(() => null, (error: Error) => error);
    expect(refused?.message).toMatch(/tests\/pub\/1_1_worker\.zip: a published version's zip never changes/);
    expect(readFileSync(join(stateDir, 'repository/tests/pub/versions.yaml'), 'utf8')).toBe(listed);
  }, 120_000);
});
