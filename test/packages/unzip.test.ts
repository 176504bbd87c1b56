// Package cache and safe unpack: every refusal of docs/configuration.md leaves nothing on disk and names the entry and the rule.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPackageCache } from '../../src/packages/cache.js';
import { DEFAULT_PACKAGE_LIMITS } from '../../src/packages/limits.js';
import { createRepositoryClient } from '../../src/repository/client.js';
import { startRepositoryServer } from '../../src/repository/server.js';
import { createCleanup, makeZip, patchBytes, tempDir, type TestZipFile } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const GOOD: TestZipFile[] = [{ name: 'worker.mjs', data: 'export {};\n' }, { name: 'lib/data.txt', data: 'hello' }];

// Serves `zip` as utils/demo 1.0 and returns a cache over a fresh state dir.
async function setup(zip: Buffer, limits: Partial<typeof DEFAULT_PACKAGE_LIMITS> = {}) {
  const repo = tempDir(cleanup);
  const stateDir = tempDir(cleanup);
  await mkdir(join(repo, 'utils/demo'), { recursive: true });
  await writeFile(join(repo, 'utils/demo/1_0_worker.zip'), zip);
  const server = await startRepositoryServer({ dir: repo, listen: '127.0.0.1:0' });
  cleanup.add(() => server.close());
  const repository = createRepositoryClient({ url: server.url, retries: 0 });
  return { repo, stateDir, cache: createPackageCache({ stateDir, repository, limits }) };
}

// Everything under the state dir that is a file (folders left empty are fine).
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (!e.isDirectory()) out.push(join(e.parentPath ?? e.path, e.name));
  return out;
}

async function expectRefused(zip: Buffer, pattern: RegExp, opts: { code?: string; sha256?: string; limits?: Partial<typeof DEFAULT_PACKAGE_LIMITS> } = {}) {
  const { cache, stateDir } = await setup(zip, opts.limits);
  await expect(cache.ensure({ type: 'utils', product: 'demo', version: '1.0', sha256: opts.sha256 }))
    .rejects.toMatchObject({ code: opts.code ?? 'PACKAGE_REJECTED', message: expect.stringMatching(pattern) });
  expect(await filesUnder(stateDir)).toEqual([]);
}

describe('package cache', () => {
  it('downloads, verifies and unpacks into workers/{type}/{product}/{major}.{minor}, then reuses the cache', async () => {
    const zip = await makeZip(GOOD);
    const { cache, stateDir, repo } = await setup(zip);
    const first = await cache.ensure({ type: 'utils', product: 'demo', version: '1.0', sha256: sha(zip) });
    expect(first).toMatchObject({ dir: join(stateDir, 'workers/utils/demo/1.0'), sha256: sha(zip), entry: 'worker.mjs', source: 'downloaded' });
    expect(await readFile(join(first.dir, 'lib/data.txt'), 'utf8')).toBe('hello');
    expect((await stat(join(first.dir, 'worker.mjs'))).mode & 0o777).toBe(0o644);
    const again = await cache.ensure({ type: 'utils', product: 'demo', version: '1.0', sha256: sha(zip) });
    expect(again.source).toBe('cache');
    // A cached zip that no longer matches is re-verified by sha256 and fetched again.
    await writeFile(first.zipPath, 'tampered');
    expect((await cache.ensure({ type: 'utils', product: 'demo', version: '1.0', sha256: sha(zip) })).source).toBe('downloaded');
    // A new zip in the repository (new checksum listed) replaces the cached one.
    const zip2 = await makeZip([...GOOD, { name: 'extra.txt', data: 'x' }]);
    await writeFile(join(repo, 'utils/demo/1_0_worker.zip'), zip2);
    const third = await cache.ensure({ type: 'utils', product: 'demo', version: '1.0', sha256: sha(zip2) });
    expect(third.source).toBe('downloaded');
    expect(await readFile(join(third.dir, 'extra.txt'), 'utf8')).toBe('x');
  });

  it('keeps an executable `worker` executable and prefers it', async () => {
    const zip = await makeZip([{ name: 'worker', data: '#!/bin/sh\necho hi\n', mode: 0o100755 }]);
    const { cache } = await setup(zip);
    const got = await cache.ensure({ type: 'utils', product: 'demo', version: '1.0' });
    expect(got.entry).toBe('worker');
    expect((await stat(join(got.dir, 'worker'))).mode & 0o777).toBe(0o755);
  });

  it('refuses a checksum mismatch', async () => {
    await expectRefused(await makeZip(GOOD), /sha256 is [0-9a-f]{64}, versions\.yaml lists 0{64}/, { code: 'CHECKSUM_MISMATCH', sha256: '0'.repeat(64) });
  });

  it('refuses a truncated zip', async () => {
    const zip = await makeZip(GOOD);
    await expectRefused(zip.subarray(0, zip.length - 30), /not a valid zip archive/);
  });

  it('refuses zip-slip entries: ../x, /abs, ..\\x, a:/x', async () => {
    const base = await makeZip([{ name: 'worker.mjs', data: 'x' }, { name: 'zz/x', data: 'evil' }]);
    await expectRefused(patchBytes(base, 'zz/x', '../x'), /entry "\.\.\/x": parent directory `\.\.`/);
    await expectRefused(patchBytes(base, 'zz/x', '/abs'), /entry "\/abs": absolute path/);
    await expectRefused(patchBytes(base, 'zz/x', '..\\x'), /backslash/);
    await expectRefused(patchBytes(base, 'zz/x', 'c:/x'), /absolute path/);
  });

  it('refuses symlink and device entries', async () => {
    await expectRefused(await makeZip([...GOOD, { name: 'link', data: '/etc/passwd', mode: 0o120777 }]), /entry "link": symbolic link entries are not allowed/);
    await expectRefused(await makeZip([...GOOD, { name: 'dev', data: '', mode: 0o020644 }]), /entry "dev": character device/);
  });

  it('refuses a zip bomb by the ratio of bytes actually streamed, and the size and entry limits', async () => {
    const zeros = Buffer.alloc(4 * 1024 * 1024);
    await expectRefused(await makeZip([...GOOD, { name: 'bomb.bin', data: zeros }]), /entry "bomb\.bin": compression ratio over 1000:1/);
    await expectRefused(await makeZip([...GOOD, { name: 'big.bin', data: zeros }]), /unpackedBytes/, { limits: { unpackedBytes: 1024 * 1024, ratio: 10_000 } });
    await expectRefused(await makeZip(GOOD), /2 entries, over the entries limit of 1/, { limits: { entries: 1 } });
    await expectRefused(await makeZip(GOOD), /zipBytes/, { limits: { zipBytes: 10 } });
  });

  it('refuses a package without a runnable entry', async () => {
    await expectRefused(await makeZip([{ name: 'index.js', data: 'x' }]), /no executable `worker` or `worker\.mjs`/);
    await expectRefused(await makeZip([{ name: 'worker', data: 'x', mode: 0o100644 }]), /`worker` at the root is not executable/);
  });
});
