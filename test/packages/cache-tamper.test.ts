// A cache hit proves the unpacked folder too: code edited, removed or added on disk after unpacking never runs.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderManifest, manifestDifference } from '../../src/packages/manifest.js';
import { CACHED_WORKER, cachedPackage } from '../helpers/cached-package.js';
import { createCleanup } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());
const ORIGINAL = CACHED_WORKER;

describe('package cache and the unpacked folder', () => {
  it('reuses an untouched folder as is', async () => {
    const { cache, request } = await cachedPackage(cleanup);
    expect((await cache.ensure(request)).source).toBe('cache');
  });

  it.each([
    ['an edited entry', (dir: string) => writeFile(join(dir, 'worker.mjs'), 'process.exit(66);\n')],
    ['a removed file', (dir: string) => rm(join(dir, 'lib/data.txt'))],
    ['an added file', (dir: string) => writeFile(join(dir, 'lib/evil.mjs'), 'export {};\n')],
  ])('unpacks again from the verified zip after %s', async (_what, tamper) => {
    const { cache, request, dir } = await cachedPackage(cleanup);
    await tamper(dir);
    const again = await cache.ensure(request);
    expect(again.source).toBe('unpacked');
    expect(await readFile(join(dir, 'worker.mjs'), 'utf8')).toBe(ORIGINAL);
    expect(await readFile(join(dir, 'lib/data.txt'), 'utf8')).toBe('hello');
    expect(manifestDifference(await folderManifest(dir), await folderManifest(again.dir))).toBeUndefined();
    await expect(readFile(join(dir, 'lib/evil.mjs'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await cache.ensure(request)).source).toBe('cache');
  });

  it('names the first difference between two manifests', () => {
    expect(manifestDifference({ a: '1', b: '2' }, { a: '1', b: '2' })).toBeUndefined();
    expect(manifestDifference({ a: '1', b: '2' }, { a: '1' })).toBe('b is missing');
    expect(manifestDifference({ a: '1' }, { a: 'x' })).toBe('a was changed');
    expect(manifestDifference({ a: '1' }, { a: '1', c: '3' })).toBe('c was added');
  });
});
