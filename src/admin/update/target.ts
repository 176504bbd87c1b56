// Which version a rolling update goes to (docs/architecture.md): an explicit version (a downgrade is allowed), or the newest
// listed version in range that is newer than the running one; versions that failed are skipped by automatic updates.
import semver from 'semver';
import { WorkerAdminError } from '../../common/errors.js';
import { VERSION_RE, splitVersion } from '../../common/names.js';
import { resolveVersion, toSemver, withinMajor, type VersionEntry } from '../../repository/versions.js';

interface TargetQuery {
  product: string;
  versions: readonly VersionEntry[];
  /** The running version the update starts from. */
  from: string;
  /** An explicit `major.minor` from the payload (ADMIN_UPDATE, ADMIN_ROLLBACK). */
  version?: string | undefined;
  /** The update range of the connector; undefined: within the running major. */
  range?: string | undefined;
  /** Versions not to pick without an explicit version (they failed to become READY). */
  skip?: ReadonlySet<string>;
}

/** An update to `to`, or nothing to do and why. */
type Target = { kind: 'update'; to: string } | { kind: 'none'; reason: string };

/** Resolves the target of an update; VERSION_NOT_FOUND / VERSION_INVALID when an explicit version is not listed. */
export function chooseTarget(query: TargetQuery): Target {
  const { product, versions, from } = query;
  if (query.version !== undefined) {
    if (!VERSION_RE.test(query.version)) {
      throw new WorkerAdminError('PAYLOAD_INVALID', `version ${JSON.stringify(query.version)} is invalid: it must be "major.minor", e.g. "1.2"`);
    }
    const { version } = resolveVersion(versions, query.version, product);
    return version === from ? { kind: 'none', reason: `${product} already runs ${from}` } : { kind: 'update', to: version };
  }
  const range = query.range ?? withinMajor(splitVersion(from).major);
  const candidates = versions.filter((v) => !query.skip?.has(v.version));
  let best: string;
  try {
    best = resolveVersion(candidates, range, product).version;
  } catch (error) {
    if (error instanceof WorkerAdminError && error.code === 'VERSION_NOT_FOUND') return { kind: 'none', reason: `no version of ${product} in range ${range}${skipped(query.skip)}` };
    throw error;
  }
  if (!semver.gt(toSemver(best), toSemver(from))) {
    return { kind: 'none', reason: `no version newer than ${from} in range ${range}${skipped(query.skip)}` };
  }
  return { kind: 'update', to: best };
}

/** The highest of some `major.minor` versions. */
export function highestVersion(versions: readonly string[]): string | undefined {
  return [...versions].sort((a, b) => semver.compare(toSemver(b), toSemver(a)))[0];
}

/** True when `a` is older than `b`. */
export function olderThan(a: string, b: string): boolean {
  return semver.lt(toSemver(a), toSemver(b));
}

function skipped(skip: ReadonlySet<string> | undefined): string {
  return skip && skip.size > 0 ? ` (skipping ${[...skip].join(', ')}: failed before)` : '';
}
