// Step 1 of a worker start (DESIGN §4): the router's store first, else the repository, then saved to the store.
import { splitVersion } from '../common/names.js';
import type { Logger } from '../common/log.js';
import type { RepositoryClient } from '../repository/client.js';
import { fromStored, toStored, type VersionConfiguration } from '../repository/stored.js';
import type { RouterRpc } from '../sdk/rpc.js';

export interface VersionRef { type: string; product: string; version: string }

/** Layers and pivot of `type/product@version`, fetched from the repository only when the store has none. */
export async function loadVersionConfiguration(
  ref: VersionRef,
  deps: { rpc: RouterRpc; repository: RepositoryClient; logger: Logger },
): Promise<VersionConfiguration> {
  const { major, minor } = splitVersion(ref.version);
  const stored = await deps.rpc.getConfiguration({ type: ref.type, product: ref.product, major: String(major), minor: String(minor) });
  const fromStore = fromStored(stored);
  if (fromStore) return fromStore;
  const fetched = await deps.repository.fetchConfiguration(ref.type, ref.product, ref.version);
  await deps.rpc.saveConfiguration(toStored(ref, fetched));
  deps.logger.info({ product: `${ref.type}/${ref.product}`, version: ref.version }, 'configuration fetched from the repository and saved to the store');
  return fetched;
}
