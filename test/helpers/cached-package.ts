// A package served by a real repository and fetched once into a fresh package cache: the set-up of the cache tests.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPackageCache } from '../../src/packages/cache.js';
import type { FileHasher } from '../../src/packages/manifest.js';
import { createRepositoryClient } from '../../src/repository/client.js';
import { startRepositoryServer } from '../../src/repository/server.js';
import { type createCleanup, makeZip, tempDir } from './repo.js';

/** The worker.mjs of the cached package (next to it: lib/data.txt, "hello"). */
export const CACHED_WORKER = 'export const answer = 42;\n';

/** utils/demo@1.0 served on port 0, ensured once into a cache on a temp state dir (with `hasher` when given). */
export async function cachedPackage(cleanup: ReturnType<typeof createCleanup>, hasher?: FileHasher) {
  const repo = tempDir(cleanup);
  const stateDir = tempDir(cleanup);
  const zip = await makeZip([{ name: 'worker.mjs', data: CACHED_WORKER }, { name: 'lib/data.txt', data: 'hello' }]);
  await mkdir(join(repo, 'utils/demo'), { recursive: true });
  await writeFile(join(repo, 'utils/demo/1_0_worker.zip'), zip);
  const server = await startRepositoryServer({ dir: repo, listen: '127.0.0.1:0' });
  cleanup.add(() => server.close());
  const repository = createRepositoryClient({ url: server.url, retries: 0 });
  const cache = createPackageCache({ stateDir, repository, ...(hasher ? { hasher } : {}) });
  const request = { type: 'utils', product: 'demo', version: '1.0', sha256: createHash('sha256').update(zip).digest('hex') };
  const first = await cache.ensure(request);
  return { cache, request, dir: first.dir, zipPath: first.zipPath };
}
