// The version a product is placed with the first time (docs/fleet.md, placement): the newest its `versions` allow in
// the repository, asked through the coordinator host's admin (10 s at most: a pass waits on it).
import semver from 'semver';
import { WorkerAdminError } from '../../common/errors.js';
import { productKey } from '../../common/names.js';
import type { RepositoryClient } from '../../repository/client.js';
import { resolveVersion, toSemver } from '../../repository/versions.js';
import { withDeadline } from '../registry/leases.js';
import type { ResolveVersion } from './pass.js';

export function repositoryVersions(repository: Pick<RepositoryClient, 'listVersions'>): ResolveVersion {
  return async (type, product, versions) => {
    const listed = await withDeadline(repository.listVersions(type, product), 10_000);
    const key = productKey({ type, product });
    const found: string[] = [];
    for (const spec of versions.length === 0 ? ['latest'] : versions) {
      try {
        found.push(resolveVersion(listed, spec, key).version);
      } catch (error) {
        if (!(error instanceof WorkerAdminError) || error.code !== 'VERSION_NOT_FOUND') throw error;
      }
    }
    const newest = found.sort((a, b) => semver.compare(toSemver(b), toSemver(a)))[0];
    if (newest === undefined) throw new WorkerAdminError('VERSION_NOT_FOUND', `${key}: no listed version matches ${versions.join(', ')}`);
    return newest;
  };
}
