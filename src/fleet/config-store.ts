// The configuration store in a fleet (docs/fleet.md): etcd holds one stored configuration per version, first writer
// wins; each host keeps its own full copy on disk. The default of a `secret: true` key never goes to etcd: a host that
// finds it left out reads the layers from the repository (its admin fetches them when the store answers "none").
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../common/log.js';
import type { ConfigurationKey, StoredConfiguration } from '../proto/types.js';
import { assertConfigurationKey, type ConfigurationStore } from '../router/config-store.js';
import { withDeadline } from './registry/leases.js';

interface EtcdStored {
  layers_json: string;
  pivot_json: string;
  saved_at_ms: number;
  /** Some secret key's default was left out: this copy cannot configure a worker by itself. */
  secretDefaultsOmitted: boolean;
}

/** The layers with every secret key's default removed, and whether anything was removed. */
function withoutSecretDefaults(layersJson: string): { json: string; omitted: boolean } {
  let omitted = false;
  const layers = JSON.parse(layersJson) as Array<{ keys?: Array<Record<string, unknown>> }>;
  for (const layer of layers) {
    for (const key of layer.keys ?? []) {
      if (key['secret'] === true && 'default' in key) {
        delete key['default'];
        omitted = true;
      }
    }
  }
  return { json: JSON.stringify(layers), omitted };
}

/** etcd first, this host's file store as its full copy and as the fallback while etcd is out of reach. */
export function fleetConfigurationStore(client: Etcd3, prefix: string, local: ConfigurationStore, logger: Logger): ConfigurationStore {
  const keyOf = (key: ConfigurationKey | null | undefined): string => {
    const k = assertConfigurationKey(key);
    return `${prefix}/config/${k.type}/${k.product}/${k.major}/${k.minor}`;
  };
  return {
    async get(key) {
      const mine = await local.get(key);
      if (mine) return mine;
      try {
        const text = await withDeadline(client.get(keyOf(key)).string(), 2000);
        if (text === null) return undefined;
        const stored = JSON.parse(text) as EtcdStored;
        // a copy without its secret defaults would configure a worker wrongly: fetch from the repository instead
        if (stored.secretDefaultsOmitted) return undefined;
        const found: StoredConfiguration = { key: assertConfigurationKey(key), found: true, layers_json: stored.layers_json, pivot_json: stored.pivot_json, saved_at_ms: stored.saved_at_ms };
        await local.save(found);
        return found;
      } catch (error) {
        logger.warn({ err: error, key }, 'stored configuration not read from etcd: this host alone decides');
        return undefined;
      }
    },
    async save(c) {
      await local.save(c);
      const { json, omitted } = withoutSecretDefaults(c.layers_json);
      const value: EtcdStored = { layers_json: json, pivot_json: c.pivot_json, saved_at_ms: c.saved_at_ms, secretDefaultsOmitted: omitted };
      const key = keyOf(c.key);
      try {
        // first writer wins: a host that fetched the same version later keeps its own copy, etcd keeps the first
        await withDeadline(client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(value))).commit(), 2000);
      } catch (error) {
        logger.warn({ err: error, key }, 'stored configuration not written to etcd (unreachable): kept on this host');
      }
    },
    ...(local.list ? { list: () => local.list!() } : {}),
  };
}
