// `pack --out` into a repository that already lists a version: a change to its zip or layer-4 keys is refused
// naming the file and the rule, nothing is written; --force writes and says so.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, writePubSource } from '../helpers/publish.js';
import { createCleanup, tempDir } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

describe('worker-admin pack --out into an existing repository', () => {
  it('refuses changed bytes of a listed version, naming the file and the rule; --force overrides and says so', async () => {
    const src = tempDir(cleanup);
    const out = tempDir(cleanup);
    await writePubSource(src, ['1.0'], 'export default 0;\n');
    expect((await cli(['pack', src, '--out', out])).exitCode).toBe(0);
    const listed = readFileSync(join(out, 'tests/pub/versions.yaml'), 'utf8');
    const zip = readFileSync(join(out, 'tests/pub/1_0_worker.zip'));
    // packing the same source again changes nothing and is accepted
    expect((await cli(['pack', src, '--out', out])).exitCode).toBe(0);

    await writePubSource(src, ['1.0'], 'export default 1; // edited in place\n');
    await writeFile(join(src, 'tests/pub/1/0/keys.yaml'), '- name: flavor\n  type: string\n  default: other\n');
    const refused = await cli(['pack', src, '--out', out]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/VERSION_IMMUTABLE/);
    expect(refused.stderr).toMatch(/tests\/pub\/1_0_worker\.zip: a published version's zip never changes: publish a new version \(tests\/pub@1\.0: published sha256 [0-9a-f]{64}, local [0-9a-f]{64}\)/);
    expect(refused.stderr).toMatch(/tests\/pub\/1\/0\/keys\.yaml: a published version's own keys \(layer 4\) never change/);
    expect(readFileSync(join(out, 'tests/pub/versions.yaml'), 'utf8')).toBe(listed);
    expect(readFileSync(join(out, 'tests/pub/1_0_worker.zip')).equals(zip)).toBe(true);

    const forced = await cli(['pack', src, '--out', out, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force: replacing what is published: tests\/pub\/1_0_worker\.zip/);
    expect(readFileSync(join(out, 'tests/pub/versions.yaml'), 'utf8')).not.toBe(listed);
  });
});
