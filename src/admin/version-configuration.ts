// Step 1 of a worker start (docs/workers.md): the router's store first, else the repository, then saved to the store.
import { splitVersion } from '../common/names.js';
import type { Logger } from '../common/log.js';
import type { RepositoryClient } from '../repository/client.js';
import { fromStored, toStored, type VersionConfiguration } from '../repository/stored.js';
import type { RouterRpc } from '../sdk/rpc.js';

export interface VersionRef { type: string; product: string; version: string }

/**
 * The last configuration parsed from the store per version, with the texts it was parsed from. Every start still asks
 * the store (it stays the source of truth), but when it answers the same texts the parsed, frozen layers and pivot are
 * reused: 200 starts of one version parsed them 200 times (~20 KB of garbage each) and kept 200 copies of the pivot.
 */
const parsedByRef = new Map<string, { layersJson: string; pivotJson: string; conf: VersionConfiguration }>();

/** Layers and pivot of `type/product@version`, fetched from the repository only when the store has none. Frozen. */
export async function loadVersionConfiguration(
  ref: VersionRef,
  deps: { rpc: RouterRpc; repository: RepositoryClient; logger: Logger },
): Promise<VersionConfiguration> {
  const { major, minor } = splitVersion(ref.version);
  const stored = await deps.rpc.getConfiguration({ type: ref.type, product: ref.product, major: String(major), minor: String(minor) });
  const key = `${ref.type}/${ref.product}@${major}.${minor}`;
  const known = parsedByRef.get(key);
  if (stored.found && known?.layersJson === stored.layers_json && known.pivotJson === stored.pivot_json) return known.conf;
  const fromStore = fromStored(stored);
  if (fromStore) {
    const conf = deepFreeze(fromStore);
    parsedByRef.set(key, { layersJson: stored.layers_json, pivotJson: stored.pivot_json, conf });
    return conf;
  }
  const fetched = await deps.repository.fetchConfiguration(ref.type, ref.product, ref.version);
  await deps.rpc.saveConfiguration(toStored(ref, fetched));
  deps.logger.info({ product: `${ref.type}/${ref.product}`, version: ref.version }, 'configuration fetched from the repository and saved to the store');
  return fetched;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Fetches the layers and pivot of `ref` from the repository and replaces what the store holds (a re-published version). */
export async function refreshVersionConfiguration(ref: VersionRef, deps: { rpc: RouterRpc; repository: RepositoryClient; logger: Logger }): Promise<void> {
  const fetched = await deps.repository.fetchConfiguration(ref.type, ref.product, ref.version);
  await deps.rpc.saveConfiguration(toStored(ref, fetched));
  parsedByRef.delete(`${ref.type}/${ref.product}@${ref.version}`);
  deps.logger.info({ product: `${ref.type}/${ref.product}`, version: ref.version }, 'configuration of a re-published version replaced in the store');
}
