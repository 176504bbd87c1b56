// `worker-admin publish` against a fresh `repo serve --upload-token-file`: an admin elsewhere runs what was
// published, published versions are immutable (refused with both digests, --force accepted), --dry-run sends nothing.
import { mkdtempSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, newToken, serveRepository, snapshot, startRemoteAdmin, writePubSource } from '../helpers/publish.js';
import { createCleanup, tempDir } from '../helpers/repo.js';

const cleanup = createCleanup();
const PLAIN = 'export default 0; // a worker that bundles fast\n';
afterEach(() => cleanup.run());

async function freshRepository() {
  const repo = tempDir(cleanup);
  const tokenFile = join(tempDir(cleanup), 'token');
  await writeFile(tokenFile, newToken());
  const { url } = await serveRepository(cleanup, repo, tokenFile);
  return { repo, url, tokenFile };
}

describe('worker-admin publish', () => {
  it('publishes into a fresh repository; an admin on another state dir starts the new version with its own keys', async () => {
    const { repo, url, tokenFile } = await freshRepository();
    const src = tempDir(cleanup);
    await writePubSource(src, ['1.0']);
    const first = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(first.exitCode, first.stderr).toBe(0);
    // one line per file when not on a terminal, versions.yaml last
    const puts = first.stdout.split('\n').filter((l) => l.startsWith('PUT '));
    expect(puts.at(-1)).toMatch(/^PUT tests\/pub\/versions\.yaml/);
    expect(puts.map((l) => l.split(' ')[1])).toEqual(expect.arrayContaining(['tests/pub/1_0_worker.zip', 'tests/pub/keys.yaml', 'tests/pub/1_configuration.yaml', 'tests/pub/1/0/keys.yaml']));

    await writePubSource(src, ['1.0', '1.1']);
    const dry = await cli(['publish', src, '--to', url, '--token-file', tokenFile, '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/tests\/pub@1\.0 [0-9a-f]{64} already published/);
    expect(dry.stdout).toMatch(/would PUT tests\/pub\/1_1_worker\.zip/);
    expect(readFileSync(join(repo, 'tests/pub/versions.yaml'), 'utf8')).not.toContain('1.1');
    const second = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/tests\/pub@1\.1 [0-9a-f]{64} published/);
    expect(readFileSync(join(repo, 'tests/pub/versions.yaml'), 'utf8')).toMatch(/version: "1\.0"[\s\S]*version: "1\.1"/);

    const { send } = await startRemoteAdmin(cleanup, mkdtempSync(join(tmpdir(), 'wa-pub-admin-')), url);
    const started = await send('ADMIN_START_WORKER', { product: 'tests/pub', identifier: 'pub-latest' });
    expect(started.status, started.error).toBe('SUCCESS');
    expect(started.data).toMatchObject({ version: '1.1' });
    const config = await send('CONFIG', {});
    expect(config).toMatchObject({ status: 'SUCCESS', worker: 'pub-latest@1.1', data: { version: '1.1', config: { flavor: 'flavor-1.1', greeting: 'hello' } } });
    const old = await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.0', identifier: 'pub-old' });
    expect(old.status, old.error).toBe('SUCCESS');
  });

  it('refuses a published version whose bytes changed (exit 1, both digests, nothing uploaded) unless --only leaves it out or --force', async () => {
    const { repo, url, tokenFile } = await freshRepository();
    const src = tempDir(cleanup);
    await writePubSource(src, ['1.0'], PLAIN);
    expect((await cli(['publish', src, '--to', url, '--token-file', tokenFile])).exitCode).toBe(0);
    const published = /sha256: ([0-9a-f]{64})/.exec(readFileSync(join(repo, 'tests/pub/versions.yaml'), 'utf8'))![1]!;

    // an edit in place of 1.0, and a new 1.1 beside it
    await writePubSource(src, ['1.0', '1.1'], 'export default 1; // edited\n');
    const before = snapshot(repo);
    const refused = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('VERSION_IMMUTABLE');
    const line = refused.stderr.split('\n').find((l) => l.startsWith('tests/pub@1.0'))!;
    const digests = line.match(/[0-9a-f]{64}/g)!;
    expect(digests).toHaveLength(2);
    expect(digests[0]).toBe(published);
    expect(digests[1]).not.toBe(published);
    expect(snapshot(repo)).toEqual(before); // nothing uploaded, not even 1.1

    const only = await cli(['publish', src, '--to', url, '--token-file', tokenFile, '--only', 'tests/pub@1.1']);
    expect(only.exitCode, only.stderr).toBe(0);
    expect(readFileSync(join(repo, 'tests/pub/versions.yaml'), 'utf8')).toContain(published);

    const forced = await cli(['publish', src, '--to', url, '--token-file', tokenFile, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force: replacing what is published: tests\/pub@1\.0/);
    const listed = readFileSync(join(repo, 'tests/pub/versions.yaml'), 'utf8');
    expect(listed).not.toContain(published);
    expect(listed).toContain(digests[1]!);
  });

  it('names the file and the rule when a published keys layer 4 or pivot would change, and lets layers 1-3 gain keys with defaults', async () => {
    const { repo, url, tokenFile } = await freshRepository();
    const src = tempDir(cleanup);
    await writePubSource(src, ['1.0'], PLAIN);
    expect((await cli(['publish', src, '--to', url, '--token-file', tokenFile])).exitCode).toBe(0);

    await writeFile(join(src, 'tests/pub/1/0/keys.yaml'), '- name: flavor\n  type: string\n  default: changed\n');
    const minor = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(minor.exitCode).toBe(1);
    expect(minor.stderr).toMatch(/tests\/pub\/1\/0\/keys\.yaml: a published version's own keys \(layer 4\) never change: publish a new version/);
    await writeFile(join(src, 'tests/pub/1/0/keys.yaml'), '- name: flavor\n  type: string\n  default: flavor-1.0\n');

    await writeFile(join(src, 'tests/pub/1_configuration.yaml'), 'commands:\n  - name: CONFIG\n    schema: { type: object }\n  - name: NEW\n    schema: { type: object }\nevents: []\n');
    const pivot = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(pivot.exitCode).toBe(1);
    expect(pivot.stderr).toMatch(/tests\/pub\/1_configuration\.yaml: a major's pivot never changes once a version of it is listed/);
    await writeFile(join(src, 'tests/pub/1_configuration.yaml'), 'commands:\n  - name: CONFIG\n    schema: { type: object }\nevents: []\n');

    await writeFile(join(src, 'tests/pub/keys.yaml'), '- name: greeting\n  type: string\n  default: hello\n- name: mandatory_new\n  type: string\n  mandatory: true\n');
    const noDefault = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(noDefault.exitCode).toBe(1);
    expect(noDefault.stderr).toMatch(/tests\/pub\/keys\.yaml: keys layers 1-3 may only gain keys that have a default.*new key mandatory_new has no default/);

    await writeFile(join(src, 'tests/pub/keys.yaml'), '- name: greeting\n  type: string\n  default: hello\n  description: now described\n- name: timeout\n  type: integer\n  default: 5\n');
    const gained = await cli(['publish', src, '--to', url, '--token-file', tokenFile]);
    expect(gained.exitCode, gained.stderr).toBe(0);
    expect(readFileSync(join(repo, 'tests/pub/keys.yaml'), 'utf8')).toContain('timeout');
  });
});
