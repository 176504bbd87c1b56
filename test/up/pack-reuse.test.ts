// `up` packs a connector version again only when what it is built from changed: its source, a file its bundle pulls
// in, its zip or versions.yaml entry in the repository; an unchanged tree is reported "unchanged", not re-bundled.
import { readdirSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { sdkEntryPath } from '../../src/packages/pack/bundle.js';
import { packRepository, packSession } from '../../src/packages/pack/pack.js';
import { readRecord, recordPath } from '../../src/packages/pack/pack-record.js';
import { startStack, type RunningStack } from '../../src/up/stack.js';
import { createCleanup, tempDir, writeTree } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

// utils/demo 1.0 and 1.1: worker.mjs → ./lib.mjs → ../../../../../../shared/extra.mjs (outside the connectors tree,
// the way the SDK in dist/ is), plus tools/sh 0.1, an executable worker.
async function writeSource(root: string): Promise<string> {
  const src = join(root, 'connectors');
  const files: Record<string, string | { data: string; mode: number }> = {
    'shared/extra.mjs': "export const extra = 'extra-1';\n",
    'connectors/utils/demo/1_configuration.yaml': 'commands:\n  - name: ECHO\n    schema: { type: object }\n',
    'connectors/tools/sh/0_configuration.yaml': 'commands: []\n',
    'connectors/tools/sh/0/1/worker/worker': { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
  };
  for (const minor of ['0', '1']) {
    files[`connectors/utils/demo/1/${minor}/worker/worker.mjs`] = `import { lib } from './lib.mjs';\nconsole.log(lib, 'v1.${minor}');\n`;
    files[`connectors/utils/demo/1/${minor}/worker/lib.mjs`] = "import { extra } from '../../../../../../shared/extra.mjs';\nexport const lib = 'lib-1 ' + extra;\n";
  }
  await writeTree(root, files);
  return src;
}

const results = (stack: RunningStack): Record<string, string> =>
  Object.fromEntries(stack.packs.flatMap((p) => p.versions.map((v) => [v.id, v.result])));

describe('up: re-pack only what changed', () => {
  it('packs everything once, then nothing for an unchanged tree, then exactly the versions whose inputs changed', async () => {
    const root = tempDir(cleanup);
    const src = await writeSource(root);
    const stateDir = join(root, 'state');
    const config = parseAdminConfigObject({
      stateDir, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' }, connectors: [],
    }, { file: '<test>', env: {} });
    const logged: string[] = [];
    const logger = createLogger('test', { level: 'info', destination: new Writable({ write: (c, _e, done) => { logged.push(String(c)); done(); } }) });
    const up = async (): Promise<Record<string, string>> => {
      const stack = await startStack({ config, connectorsDir: src, logger, startConnectors: false });
      await stack.close();
      return results(stack);
    };
    const zip = (version: string): Promise<Buffer> => readFile(join(stateDir, 'repository/utils/demo', `${version.replace('.', '_')}_worker.zip`));

    expect(await up()).toEqual({ 'utils/demo@1.0': 'packed', 'utils/demo@1.1': 'packed', 'tools/sh@0.1': 'packed' });
    const first10 = await zip('1.0');
    expect(await up()).toEqual({ 'utils/demo@1.0': 'unchanged', 'utils/demo@1.1': 'unchanged', 'tools/sh@0.1': 'unchanged' });
    expect(await zip('1.0')).toEqual(first10);
    expect(readdirSync(join(stateDir, 'pack-records'))).toEqual(['tools', 'utils']);
    expect(readdirSync(join(stateDir, 'repository')).sort()).toEqual(['tools', 'utils']); // nothing but the packages is served
    const line = JSON.parse(logged.filter((l) => l.includes('connectors packed')).at(-1)!) as Record<string, unknown>;
    expect(line).toMatchObject({ src, packed: [], unchanged: ['tools/sh@0.1', 'utils/demo@1.0', 'utils/demo@1.1'] });

    // the worker's own source
    await writeFile(join(src, 'utils/demo/1/0/worker/worker.mjs'), "import { lib } from './lib.mjs';\nconsole.log(lib, 'v1.0 edited');\n");
    expect(await up()).toEqual({ 'utils/demo@1.0': 'packed', 'utils/demo@1.1': 'unchanged', 'tools/sh@0.1': 'unchanged' });
    expect(await zip('1.0')).not.toEqual(first10);
    expect(await up()).toEqual({ 'utils/demo@1.0': 'unchanged', 'utils/demo@1.1': 'unchanged', 'tools/sh@0.1': 'unchanged' });

    // a file outside the connectors tree that both bundles pull in
    const before11 = await zip('1.1');
    await writeFile(join(root, 'shared/extra.mjs'), "export const extra = 'extra-2';\n");
    expect(await up()).toEqual({ 'utils/demo@1.0': 'packed', 'utils/demo@1.1': 'packed', 'tools/sh@0.1': 'unchanged' });
    expect((await zip('1.1')).equals(before11)).toBe(false);

    // an executable worker's folder: a file's mode
    await chmod(join(src, 'tools/sh/0/1/worker/worker'), 0o700);
    await writeFile(join(src, 'tools/sh/0/1/worker/worker'), '#!/bin/sh\nexit 1\n');
    expect((await up())['tools/sh@0.1']).toBe('packed');
    expect((await up())['tools/sh@0.1']).toBe('unchanged');
  });

  it('packs again when the zip, versions.yaml or the record is gone or altered, or a file appears beside an input', async () => {
    const root = tempDir(cleanup);
    const src = await writeSource(root);
    const out = join(root, 'repo');
    const records = join(root, 'records');
    const pack = async (): Promise<string | undefined> =>
      (await packRepository({ src, out, reuseRecords: records })).versions.find((v) => v.version === '1.0')?.result;
    const zip10 = join(out, 'utils/demo/1_0_worker.zip');
    expect(await pack()).toBe('packed');
    expect(await pack()).toBe('unchanged');

    await writeFile(zip10, 'not a zip');
    expect(await pack()).toBe('packed');
    await rm(zip10);
    expect(await pack()).toBe('packed');
    await writeFile(join(out, 'utils/demo/versions.yaml'), '- "1.0"\n- "1.1"\n');
    expect(await pack()).toBe('packed');
    await writeFile(recordPath(records, 'utils', 'demo', '1.0'), '{not json');
    expect(await pack()).toBe('packed');
    expect(await pack()).toBe('unchanged');
    // worker.ts next to worker.mjs is the entry from now on; a tsconfig.json may change how imports resolve
    await writeFile(join(src, 'utils/demo/1/0/worker/tsconfig.json'), '{}\n');
    expect(await pack()).toBe('packed');
    await writeFile(join(src, 'utils/demo/1/0/worker/worker.ts'), "console.log('ts entry');\n");
    expect(await pack()).toBe('packed');
    expect(await pack()).toBe('unchanged');
  });

  it('within one pack session (shared file hashes), a file edited between two packs is hashed again', async () => {
    const root = tempDir(cleanup);
    const src = await writeSource(root);
    const out = join(root, 'repo');
    const records = join(root, 'records');
    const results = await packSession(async () => {
      const seen: Array<string | undefined> = [];
      const pack = async (): Promise<void> => {
        seen.push((await packRepository({ src, out, reuseRecords: records })).versions.find((v) => v.version === '1.1')?.result);
      };
      await pack();
      await pack();
      await writeFile(join(root, 'shared/extra.mjs'), "export const extra = 'extra-2, longer';\n");
      await pack();
      return seen;
    });
    expect(results).toEqual(['packed', 'unchanged', 'packed']);
  });

  it('packs as without records when the records folder cannot be written', async () => {
    const root = tempDir(cleanup);
    const src = await writeSource(root);
    const records = join(root, 'a-file');
    await writeFile(records, 'not a folder');
    for (let i = 0; i < 2; i++) {
      const result = await packRepository({ src, out: join(root, 'repo'), reuseRecords: records });
      expect(result.versions.map((v) => v.result)).toEqual(['packed', 'packed', 'packed']);
    }
  });

  it('`pack` without reuseRecords (the CLI) always packs and writes no record', async () => {
    const root = tempDir(cleanup);
    const src = await writeSource(root);
    const out = join(root, 'repo');
    const records = join(root, 'records');
    for (let i = 0; i < 2; i++) {
      const result = await packRepository({ src, out });
      expect(result.versions.map((v) => v.result)).toEqual(['packed', 'packed', 'packed']);
    }
    expect(await readRecord(recordPath(records, 'utils', 'demo', '1.0'))).toBeNull();
    expect(readdirSync(root).sort()).toEqual(['connectors', 'repo', 'shared']);
  });

  it('records the SDK files from dist/ among the inputs of a worker that imports worker-admin/sdk', async () => {
    const root = tempDir(cleanup);
    const src = join(root, 'connectors');
    await writeTree(src, { 'utils/sdk/1/0/worker/worker.ts': "import { startWorker } from 'worker-admin/sdk';\nawait startWorker({ commands: {} });\n" });
    const out = join(root, 'repo');
    const records = join(root, 'records');
    await packRepository({ src, out, reuseRecords: records });
    const record = await readRecord(recordPath(records, 'utils', 'sdk', '1.0'));
    expect(Object.keys(record?.inputs ?? {})).toContain(sdkEntryPath());
    expect(Object.keys(record?.inputs ?? {}).some((p) => p.includes('/node_modules/@grpc/grpc-js/'))).toBe(true);
    expect((await packRepository({ src, out, reuseRecords: records })).versions[0]?.result).toBe('unchanged');
  });
});
