// Layers + pivot as the router's StoredConfiguration carries them (layers_json, pivot_json), and back.
import { WorkerAdminError } from '../common/errors.js';
import { productKey, splitVersion } from '../common/names.js';
import type { StoredConfiguration } from '../proto/types.js';
import { LAYER_NAMES, parseKeysValue, type KeysLayer, type LayerName } from './keys.js';
import { parsePivotValue, type Pivot } from './pivot.js';

/** What step 1 needs from the store or the repository for one version. */
export interface VersionConfiguration {
  layers: KeysLayer[];
  pivot: Pivot;
}

/** The StoredConfiguration to save for `type/product@version`. */
export function toStored(ref: { type: string; product: string; version: string }, conf: VersionConfiguration, now = Date.now()): StoredConfiguration {
  const { major, minor } = splitVersion(ref.version);
  return {
    key: { type: ref.type, product: ref.product, major: String(major), minor: String(minor) },
    found: true,
    layers_json: JSON.stringify(conf.layers),
    pivot_json: JSON.stringify(conf.pivot),
    saved_at_ms: now,
  };
}

/** Layers and pivot from a StoredConfiguration (re-checked: the store is not trusted blindly); null when not found. */
export function fromStored(stored: StoredConfiguration): VersionConfiguration | null {
  if (!stored.found) return null;
  const where = `stored configuration ${stored.key ? `${productKey(stored.key)}@${stored.key.major}.${stored.key.minor}` : ''}`.trim();
  const layersValue = parseJson(stored.layers_json, `${where} layers_json`);
  if (!Array.isArray(layersValue)) throw new WorkerAdminError('KEYS_INVALID', `${where}: layers_json must be a list of layers`);
  const layers = layersValue.map((l: unknown, i): KeysLayer => {
    const r = (l ?? {}) as Record<string, unknown>;
    const layer = r['layer'];
    if (typeof layer !== 'string' || !(LAYER_NAMES as readonly string[]).includes(layer)) {
      throw new WorkerAdminError('KEYS_INVALID', `${where}: layers_json item ${i + 1}: layer must be one of ${LAYER_NAMES.join(', ')}`);
    }
    return { layer: layer as LayerName, keys: parseKeysValue(r['keys'], `${where} (layer ${layer})`) };
  });
  return { layers, pivot: parsePivotValue(parseJson(stored.pivot_json, `${where} pivot_json`), `${where} pivot_json`) };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WorkerAdminError('CONFIG_INVALID', `${where} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}
