// `pack`: same source → same bytes; re-pack keeps other versions; executable workers kept as is; broken yaml refused.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packRepository } from '../../src/packages/pack/pack.js';
import { unpackZip } from '../../src/packages/unzip.js';
import { DEFAULT_PACKAGE_LIMITS } from '../../src/packages/limits.js';
import { parseVersionsYaml } from '../../src/repository/versions.js';
import { createCleanup, tempDir, writeDemoSource, writeTree } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

describe('packRepository', () => {
  it('gives identical sha256 when packed twice, and versions.yaml lists quoted, sorted versions with sha256', async () => {
    const src = tempDir(cleanup);
    await writeDemoSource(src, ['1.2', '1.10', '1.0']);
    const a = await packRepository({ src, out: tempDir(cleanup) });
    const outB = tempDir(cleanup);
    const b = await packRepository({ src, out: outB });
    expect(a.versions.map((v) => v.sha256)).toEqual(b.versions.map((v) => v.sha256));
    const text = await readFile(join(outB, 'utils/demo/versions.yaml'), 'utf8');
    expect(text).toMatch(/^- version: "1\.0"\n  sha256: [0-9a-f]{64}\n- version: "1\.2"\n/);
    expect(parseVersionsYaml(text, { file: 'v' }).map((e) => e.version)).toEqual(['1.0', '1.2', '1.10']);
    expect(await readFile(join(outB, 'utils/demo/1/keys.yaml'), 'utf8')).toContain('verbose');
    expect(await readFile(join(outB, 'utils/keys.yaml'), 'utf8')).toContain('port');
  });

  it('keeps the other versions’ bytes and entries when a version is added', async () => {
    const src = tempDir(cleanup);
    const out = tempDir(cleanup);
    await writeDemoSource(src, ['1.0']);
    const first = await packRepository({ src, out });
    const zip10 = await readFile(join(out, 'utils/demo/1_0_worker.zip'));
    await writeDemoSource(src, ['1.0', '1.1']);
    await packRepository({ src, out });
    expect(await readFile(join(out, 'utils/demo/1_0_worker.zip'))).toEqual(zip10);
    const listed = parseVersionsYaml(await readFile(join(out, 'utils/demo/versions.yaml'), 'utf8'), { file: 'v' });
    expect(listed.find((e) => e.version === '1.0')?.sha256).toBe(first.versions[0]?.sha256);
    expect(listed.map((e) => e.version)).toEqual(['1.0', '1.1']);
  });

  it('zips an executable `worker` folder as is, mode kept', async () => {
    const src = tempDir(cleanup);
    const out = tempDir(cleanup);
    await writeTree(src, {
      'tools/sh/1_configuration.yaml': 'commands: []\n',
      'tools/sh/0/1/worker/worker': { data: '#!/bin/sh\nexit 0\n', mode: 0o755 },
      'tools/sh/0/1/worker/lib/helper.txt': 'data',
    });
    await packRepository({ src, out });
    const dest = join(tempDir(cleanup), 'u');
    const result = await unpackZip(join(out, 'tools/sh/0_1_worker.zip'), dest, DEFAULT_PACKAGE_LIMITS);
    expect(result).toMatchObject({ entry: 'worker', entries: 2 });
  });

  it('refuses a broken keys.yaml, a bad folder and a worker folder with nothing to run', async () => {
    const src = tempDir(cleanup);
    await writeDemoSource(src, ['1.0']);
    await writeFile(join(src, 'utils/demo/keys.yaml'), '- name: a\n  type: strin\n');
    await expect(packRepository({ src, out: tempDir(cleanup) })).rejects.toThrow(/keys\.yaml \(layer product\) line 1: key "a": type "strin"/);
    const src2 = tempDir(cleanup);
    await writeTree(src2, { 'Utils/x/1/0/worker/worker.mjs': 'x' });
    await expect(packRepository({ src: src2, out: tempDir(cleanup) })).rejects.toThrow(/Utils: a type folder name/);
    const src3 = tempDir(cleanup);
    await writeTree(src3, { 'utils/x/1/0/worker/readme.txt': 'x' });
    await expect(packRepository({ src: src3, out: tempDir(cleanup) })).rejects.toThrow(/needs worker\.ts, worker\.mjs, worker\.py or an executable `worker`/);
  });

  it('bundles a worker.ts with its imports into one worker.mjs', async () => {
    const src = tempDir(cleanup);
    const out = tempDir(cleanup);
    await writeTree(src, {
      'utils/ts/1_configuration.yaml': 'commands: []\n',
      'utils/ts/1/0/worker/worker.ts': "import { twice } from './lib.js';\nconst n: number = twice(21);\nconsole.log(n);\n",
      'utils/ts/1/0/worker/lib.ts': 'export const twice = (n: number): number => n * 2;\n',
    });
    await packRepository({ src, out });
    const dest = join(tempDir(cleanup), 'u');
    expect((await unpackZip(join(out, 'utils/ts/1_0_worker.zip'), dest, DEFAULT_PACKAGE_LIMITS)).entries).toBe(1);
    const code = await readFile(join(dest, 'worker.mjs'), 'utf8');
    expect(code).toContain('createRequire');
    expect(code).toMatch(/var twice = \(n2?\) => n2? \* 2/);
  });
});
