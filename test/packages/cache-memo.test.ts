// The package cache remembers what it hashed by file stat: a hit reads nothing it already proved, and any edit,
// removal or addition in the folder (or a changed zip) is still seen, so code changed on disk never runs.
import { createHash } from 'node:crypto';
import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/packages/hash.js';
import { FileHasher, SETTLED_MS } from '../../src/packages/manifest.js';
import { CACHED_WORKER, cachedPackage } from '../helpers/cached-package.js';
import { createCleanup, makeZip, tempDir } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const ORIGINAL = CACHED_WORKER;
const SAME_SIZE = 'export const answer = 66;\n';

/** A hasher that counts its reads; `settled` makes every file look old enough to be remembered. */
function countingHasher(settled: boolean) {
  const reads: string[] = [];
  const hasher = new FileHasher(settled ? () => Date.now() + 10 * SETTLED_MS : Date.now, (path) => {
    reads.push(path);
    return sha256File(path);
  });
  return { hasher, reads };
}

// A whole second: utimes can put it back exactly (an mtime with nanoseconds would come back rounded, i.e. changed).
const PINNED_MTIME_S = 1_600_000_000;

/** Gives `path` an mtime that editInPlaceKeepingMtime can restore exactly. */
const pinMtime = (path: string): Promise<void> => utimes(path, PINNED_MTIME_S, PINNED_MTIME_S);

/** Rewrites `path` in place with `text` and puts its (pinned) mtime back, until its ctime moved (timestamps are coarse). */
async function editInPlaceKeepingMtime(path: string, text: string): Promise<void> {
  const before = await stat(path);
  expect(before.mtimeMs).toBe(PINNED_MTIME_S * 1000);
  for (let i = 0; i < 200; i += 1) {
    await writeFile(path, text);
    await pinMtime(path);
    if ((await stat(path)).ctimeMs !== before.ctimeMs) return;
    await sleep(5);
  }
  throw new Error('ctime never moved');
}

describe('FileHasher', () => {
  it('reads a settled file once while its stat stays the same', async () => {
    const dir = tempDir(cleanup);
    const path = join(dir, 'f');
    await writeFile(path, ORIGINAL);
    const { hasher, reads } = countingHasher(true);
    expect(await hasher.hash(path)).toBe(sha(ORIGINAL));
    expect(await hasher.hash(path)).toBe(sha(ORIGINAL));
    expect(reads).toHaveLength(1);
  });

  it('reads again after an in-place edit of the same size with the mtime put back (ctime moved)', async () => {
    const dir = tempDir(cleanup);
    const path = join(dir, 'f');
    await writeFile(path, ORIGINAL);
    await pinMtime(path);
    const { hasher, reads } = countingHasher(true);
    expect(await hasher.hash(path)).toBe(sha(ORIGINAL));
    await editInPlaceKeepingMtime(path, SAME_SIZE);
    expect(await hasher.hash(path)).toBe(sha(SAME_SIZE));
    expect(reads).toHaveLength(2);
  });

  it('never remembers a file changed less than SETTLED_MS before it was read (a same-tick rewrite would not show)', async () => {
    const dir = tempDir(cleanup);
    const path = join(dir, 'f');
    await writeFile(path, ORIGINAL);
    const { ctimeMs } = await stat(path);
    const reads: string[] = [];
    const hasher = new FileHasher(() => ctimeMs + SETTLED_MS - 1, (p) => {
      reads.push(p);
      return sha256File(p);
    });
    await hasher.hash(path);
    await hasher.hash(path);
    expect(reads).toHaveLength(2);
    expect(hasher.size).toBe(0);
  });
});

describe('package cache with remembered hashes', () => {
  it('a hit reads neither the zip nor the folder again', async () => {
    const { hasher, reads } = countingHasher(true);
    const { cache, request } = await cachedPackage(cleanup, hasher);
    expect((await cache.ensure(request)).source).toBe('cache'); // first hit: reads what unpacking had not proved settled
    reads.length = 0;
    expect((await cache.ensure(request)).source).toBe('cache');
    expect((await cache.ensure(request)).source).toBe('cache');
    expect(reads).toEqual([]);
  });

  it.each([
    ['an edited entry', (dir: string) => writeFile(join(dir, 'worker.mjs'), 'process.exit(66);\n')],
    ['an entry edited in place, same size, mtime put back', (dir: string) => editInPlaceKeepingMtime(join(dir, 'worker.mjs'), SAME_SIZE)],
    ['an emptied entry', (dir: string) => writeFile(join(dir, 'worker.mjs'), '')],
    ['a removed file', (dir: string) => rm(join(dir, 'lib/data.txt'))],
    ['an added file', (dir: string) => writeFile(join(dir, 'lib/evil.mjs'), 'export {};\n')],
  ])('unpacks again from the verified zip after %s, though the hashes were remembered', async (_what, tamper) => {
    const { hasher } = countingHasher(true);
    const { cache, request, dir } = await cachedPackage(cleanup, hasher);
    await pinMtime(join(dir, 'worker.mjs'));
    expect((await cache.ensure(request)).source).toBe('cache');
    expect(hasher.size).toBe(3); // the zip and both files
    await tamper(dir);
    expect((await cache.ensure(request)).source).toBe('unpacked');
    expect(await readFile(join(dir, 'worker.mjs'), 'utf8')).toBe(ORIGINAL);
    expect(await readFile(join(dir, 'lib/data.txt'), 'utf8')).toBe('hello');
    await expect(readFile(join(dir, 'lib/evil.mjs'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await cache.ensure(request)).source).toBe('cache');
  });

  it('sees a cached zip that changed after its hash was remembered', async () => {
    const { hasher } = countingHasher(true);
    const { cache, request, zipPath } = await cachedPackage(cleanup, hasher);
    expect((await cache.ensure(request)).source).toBe('cache');
    await writeFile(zipPath, await makeZip([{ name: 'worker.mjs', data: 'process.exit(66);\n' }]));
    const again = await cache.ensure(request);
    expect(again.source).toBe('downloaded'); // the zip no longer matches versions.yaml: fetched again
    expect(await readFile(join(again.dir, 'worker.mjs'), 'utf8')).toBe(ORIGINAL);
  });
});
