// yanked.yaml (docs/repository.md, yanking): versions taken out of versions.yaml, each with why; and both lists as text.
import semver from 'semver';
import { WorkerAdminError } from '../common/errors.js';
import type { YamlLimits } from '../common/yaml.js';
import { parseVersionList, toSemver, type VersionEntry } from './versions.js';

/** A yanked version: still fetchable by its exact version, never chosen by a range. */
export interface YankedEntry extends VersionEntry {
  reason: string;
}

/** Parses yanked.yaml: versions.yaml entries, each with a non-empty `reason`. */
export function parseYankedYaml(text: string, limits: YamlLimits): YankedEntry[] {
  return parseVersionList(text, limits, ['version', 'sha256', 'signature', 'reason']).map(({ entry, extra }) => {
    const reason = extra['reason'];
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new WorkerAdminError('VERSION_INVALID', `${limits.file}: yanked version "${entry.version}" needs a reason (a non-empty string)`);
    }
    return { ...entry, reason };
  });
}

const byVersion = (a: VersionEntry, b: VersionEntry): number => semver.compare(toSemver(a.version), toSemver(b.version));

/** versions.yaml text: quoted versions sorted by semver, each with its sha256 and signature when known. */
export function versionsYamlText(entries: readonly VersionEntry[]): string {
  return [...entries].sort(byVersion).map((e) => (e.sha256 || e.signature ? `- version: "${e.version}"\n${fields(e)}` : `- "${e.version}"\n`)).join('');
}

/** yanked.yaml text, sorted like versions.yaml. */
export function yankedYamlText(entries: readonly YankedEntry[]): string {
  return [...entries].sort(byVersion).map((e) => `- version: "${e.version}"\n${fields(e)}  reason: ${JSON.stringify(e.reason)}\n`).join('');
}

function fields(e: VersionEntry): string {
  return `${e.sha256 ? `  sha256: ${e.sha256}\n` : ''}${e.signature ? `  signature: ${e.signature}\n` : ''}`;
}
