// Turning a payload's `version`/`range` (or the connector's config) into one listed version.
import type { ConnectorConfig, VersionSpec } from '../../config/types.js';
import { WorkerAdminError, isWorkerAdminError } from '../../common/errors.js';
import { VERSION_RE } from '../../common/names.js';
import { resolveVersion } from '../../repository/versions.js';
import type { ProductRef } from '../payloads.js';
import { listVersions, type AdminContext } from './context.js';

/** The range a version spec stands for. */
export function specRange(spec: VersionSpec): string {
  return spec.kind === 'exact' ? spec.version : spec.kind === 'range' ? spec.range : 'latest';
}

/** The connector's first `versions` entry as a range, or `latest`. */
export function defaultRange(connector: ConnectorConfig | undefined): string {
  const first = connector?.versions[0];
  return first ? specRange(first) : 'latest';
}

/** An exact `major.minor`, or the highest listed version in a range (`latest` = highest). */
export async function pickVersion(ctx: AdminContext, ref: ProductRef, wanted: string): Promise<{ version: string; sha256: string | undefined }> {
  try {
    const versions = await listVersions(ctx, ref);
    // an exact version is looked up in yanked.yaml too; ranges and latest only ever see versions.yaml
    const entry = VERSION_RE.test(wanted) ? (await ctx.catalog.entry(ref.type, ref.product, wanted)).entry : resolveVersion(versions, wanted, `${ref.type}/${ref.product}`);
    ctx.catalog.checkSigned(`${ref.type}/${ref.product}@${entry.version}`, entry);
    return { version: entry.version, sha256: entry.sha256 };
  } catch (error) {
    // a refused signature reads as the launcher's refusals do: `PACKAGE_REJECTED: signature …`
    if (isWorkerAdminError(error, 'PACKAGE_REJECTED') && !error.message.startsWith('PACKAGE_REJECTED')) {
      throw new WorkerAdminError('PACKAGE_REJECTED', `PACKAGE_REJECTED: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
