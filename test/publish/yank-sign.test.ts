// Yanked versions (never chosen by latest, ranges or updates; still started by exact version; their reason in
// status) and signed repositories (repository.trustedKeys: unsigned or wrongly signed versions leave nothing on disk).
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { publish } from '../../src/publish/publish.js';
import { createRemoteRepository } from '../../src/publish/remote.js';
import { signSha256 } from '../../src/repository/signature.js';
import { startRepositoryServer } from '../../src/repository/server.js';
import { cli, newToken, startRemoteAdmin, writePubSource } from '../helpers/publish.js';
import { createCleanup, tempDir } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());
const quiet = { line: () => undefined, warn: () => undefined };

async function repository(versions: string[]) {
  const token = newToken();
  const tokenFile = join(tempDir(cleanup), 'token');
  await writeFile(tokenFile, token);
  const dir = tempDir(cleanup);
  const server = await startRepositoryServer({ dir, listen: '127.0.0.1:0', uploadToken: token });
  cleanup.add(() => server.close());
  const src = tempDir(cleanup);
  await writePubSource(src, versions);
  return { dir, url: server.url, token, tokenFile, src, remote: createRemoteRepository(server.url, { token }) };
}

type Workers = { workers: Array<{ identifier: string; version: string; state: string; notice?: string }> };

describe('yanked versions', () => {
  it('are never chosen by latest, ranges or updates, still start by exact version, and running ones show the reason', async () => {
    const repo = await repository(['1.0', '1.1', '1.2']);
    await publish({ src: repo.src, remote: repo.remote, reporter: quiet });
    const { send } = await startRemoteAdmin(cleanup, mkdtempSync(join(tmpdir(), 'wa-yank-')), repo.url);
    expect((await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.0', identifier: 'old' })).status).toBe('SUCCESS');
    expect((await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.2', identifier: 'pinned' })).status).toBe('SUCCESS');

    const yanked = await cli(['yank', 'tests/pub@1.2', '--to', repo.url, '--token-file', repo.tokenFile, '--reason', 'leaks memory under load']);
    expect(yanked.exitCode, yanked.stderr).toBe(0);
    expect(readFileSync(join(repo.dir, 'tests/pub/versions.yaml'), 'utf8')).not.toContain('1.2');
    expect(readFileSync(join(repo.dir, 'tests/pub/yanked.yaml'), 'utf8')).toMatch(/version: "1\.2"\n  sha256: [0-9a-f]{64}\n  reason: "leaks memory under load"/);

    const list = (await send('ADMIN_LIST_WORKERS')).data as Workers;
    expect(list.workers.find((w) => w.identifier === 'pinned')).toMatchObject({ version: '1.2', state: 'READY', notice: 'yanked: leaks memory under load' });
    expect(list.workers.find((w) => w.identifier === 'old')?.notice).toBeUndefined();

    expect((await send('ADMIN_GET_LAST_VERSION_WORKER', { product: 'tests/pub' })).data).toEqual({ product: 'tests/pub', version: '1.1' });
    expect((await send('ADMIN_GET_LAST_VERSION_WORKER', { product: 'tests/pub', range: '^1' })).data).toEqual({ product: 'tests/pub', version: '1.1' });
    expect((await send('ADMIN_START_WORKER', { product: 'tests/pub', identifier: 'fresh' })).data).toMatchObject({ version: '1.1' });
    await send('ADMIN_STOP_WORKER', { identifier: 'pinned' });
    await send('ADMIN_STOP_WORKER', { identifier: 'fresh' });
    // the update target automatic and planned updates use: newest in range, yanked left out
    const update = await send('ADMIN_UPDATE', { product: 'tests/pub' });
    expect(update.status, update.error).toBe('SUCCESS');
    expect(update.data).toMatchObject({ from: '1.0', to: '1.1' });
    const exact = await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.2', identifier: 'exact' });
    expect(exact.status, exact.error).toBe('SUCCESS');
    expect(exact.data).toMatchObject({ version: '1.2' });
    expect((await send('CONFIG', {})).status).toBe('SUCCESS');
  }, 90_000);
});

describe('signed repositories', () => {
  it('start only versions signed by a trusted key; unsigned or wrongly signed ones are refused with nothing on disk', async () => {
    const trusted = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const repo = await repository(['1.0', '1.1', '1.2']);
    const keyFile = join(tempDir(cleanup), 'publisher.pem');
    await writeFile(keyFile, trusted.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const signed = await cli(['publish', repo.src, '--to', repo.url, '--token-file', repo.tokenFile, '--only', 'tests/pub@1.0', '--sign', keyFile]);
    expect(signed.exitCode, signed.stderr).toBe(0);
    await publish({ src: repo.src, remote: repo.remote, only: [{ type: 'tests', product: 'pub', version: '1.1' }], signKey: other.privateKey, reporter: quiet });
    await publish({ src: repo.src, remote: repo.remote, only: [{ type: 'tests', product: 'pub', version: '1.2' }], reporter: quiet });
    expect(readFileSync(join(repo.dir, 'tests/pub/versions.yaml'), 'utf8')).toMatch(/version: "1\.0"\n  sha256: [0-9a-f]{64}\n  signature: \S+\n/);

    const stateDir = mkdtempSync(join(tmpdir(), 'wa-signed-'));
    const pem = trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const { send } = await startRemoteAdmin(cleanup, stateDir, repo.url, { trustedKeys: [pem] });
    const good = await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.0', identifier: 'good' });
    expect(good.status, good.error).toBe('SUCCESS');

    const onDisk = (): string[] => ['packages', 'workers'].flatMap((d) => (existsSync(join(stateDir, d, 'tests/pub')) ? readdirSync(join(stateDir, d, 'tests/pub')) : []));
    const before = onDisk();
    const wrongKey = await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.1', identifier: 'wrong' });
    expect(wrongKey.status).toBe('FAIL');
    expect(wrongKey.error).toMatch(/^PACKAGE_REJECTED: signature of tests\/pub@1\.1: not signed by any of the 1 trusted key/);
    const unsigned = await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.2', identifier: 'unsigned' });
    expect(unsigned.error).toMatch(/^PACKAGE_REJECTED: signature of tests\/pub@1\.2: the version is unsigned/);
    expect((await send('ADMIN_GET_WORKER', { product: 'tests/pub', version: '1.2' })).error).toMatch(/^PACKAGE_REJECTED: signature/);
    expect(onDisk()).toEqual(before);

    // 1.0 re-signed by another key in versions.yaml: refused from now on, the running instance untouched
    const text = readFileSync(join(repo.dir, 'tests/pub/versions.yaml'), 'utf8');
    const sha = /version: "1\.0"\n  sha256: ([0-9a-f]{64})/.exec(text)![1]!;
    await writeFile(join(repo.dir, 'tests/pub/versions.yaml'), text.replace(/(version: "1\.0"\n  sha256: [0-9a-f]{64}\n  signature: )\S+/, `$1${signSha256(sha, other.privateKey)}`));
    const resigned = await send('ADMIN_START_WORKER', { product: 'tests/pub', version: '1.0', identifier: 'resigned' });
    expect(resigned.error).toMatch(/^PACKAGE_REJECTED: signature of tests\/pub@1\.0/);
    const list = (await send('ADMIN_LIST_WORKERS')).data as Workers;
    expect(list.workers.filter((w) => w.state === 'READY').map((w) => `${w.identifier}@${w.version}`)).toEqual(['good@1.0']);
    expect((await send('CONFIG', {})).worker).toBe('good@1.0');
  }, 90_000);
});
