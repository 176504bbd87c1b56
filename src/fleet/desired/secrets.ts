// Secrets reach etcd only as `${VAR}` references: a literal value for a `secret: true` key of the product is refused.
import { WorkerAdminError, isWorkerAdminError } from '../../common/errors.js';
import { productKey, VERSION_RE } from '../../common/names.js';
import { isEnvReference } from '../../config/env.js';
import type { RepositoryClient } from '../../repository/client.js';
import { mergeKeys } from '../../repository/keys.js';
import { resolveVersion } from '../../repository/versions.js';
import type { DesiredEntry } from './types.js';

/** The names of a product's `secret: true` keys, in the newest version each `versions` entry allows. */
export type SecretKeys = (type: string, product: string, versions: readonly string[]) => Promise<Set<string>>;

/** SecretKeys read from the repository: an exact version as is, a range or `latest` resolved to its newest listed version. */
export function repositorySecretKeys(repository: Pick<RepositoryClient, 'listVersions' | 'fetchKeysLayers'>): SecretKeys {
  return async (type, product, versions) => {
    const ranges = versions.filter((v) => !VERSION_RE.test(v));
    const listed = ranges.length > 0 ? await repository.listVersions(type, product) : [];
    const exact = new Set(versions.filter((v) => VERSION_RE.test(v)));
    for (const range of ranges) exact.add(resolveVersion(listed, range, productKey({ type, product })).version);
    const secrets = new Set<string>();
    for (const version of exact) {
      for (const key of mergeKeys(await repository.fetchKeysLayers(type, product, version))) if (key.secret) secrets.add(key.name);
    }
    return secrets;
  };
}

/**
 * Refuses (through `fail`, which names the file and line) the first key whose secret is written as a literal. Only
 * connectors with a literal value ask the repository.
 */
export async function checkSecrets(entries: readonly DesiredEntry[], secretKeys: SecretKeys, fail: (field: string, reason: string) => never): Promise<void> {
  // every product asked at once, the verdicts read in file order: the first refusal named is the same every time
  const verdicts = await Promise.allSettled(entries.map(async (entry) => {
    const literal = Object.keys(entry.config).filter((key) => !isEnvReference(entry.config[key]));
    if (literal.length === 0) return undefined;
    const secrets = await secretKeys(entry.type, entry.product, entry.versions);
    return literal.find((name) => secrets.has(name));
  }));
  for (const [index, verdict] of verdicts.entries()) {
    const entry = entries[index]!;
    if (verdict.status === 'rejected') {
      // the same code (VERSION_NOT_FOUND, REPOSITORY_ERROR…), said of this connector: unchecked secrets are not written
      const error: unknown = verdict.reason;
      if (!isWorkerAdminError(error)) throw error;
      throw new WorkerAdminError(error.code, `connectors[${index}] (${productKey(entry)}): its secret keys cannot be checked: ${error.message}`, { cause: error });
    }
    if (verdict.value !== undefined) {
      fail(`connectors[${index}].config.${verdict.value}`, `is secret in ${productKey(entry)}: write it as a \${VAR} reference (each host resolves it from its own environment), never as a value`);
    }
  }
}
