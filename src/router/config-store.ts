// The configuration store: what the admin fetched for each type/product/major.minor, persisted atomically.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/credentials.js';
import { WorkerAdminError } from '../common/errors.js';
import { TYPE_PRODUCT_RE } from '../common/names.js';
import type { ConfigurationKey, StoredConfiguration } from '../proto/types.js';

export interface ConfigurationStore {
  get(key: ConfigurationKey): Promise<StoredConfiguration | undefined>;
  save(c: StoredConfiguration): Promise<void>;
  /** Everything stored (optional: lets the router know which commands stored pivots declare). */
  list?(): Promise<StoredConfiguration[]>;
}

const NUMBER_RE = /^(0|[1-9]\d*)$/;

/** A key with every part checked: they become path segments. */
export function assertConfigurationKey(key: ConfigurationKey | null | undefined): ConfigurationKey {
  if (!key) throw new WorkerAdminError('NAME_INVALID', 'configuration key is missing');
  const bad = (what: string, value: string, rule: string): never => {
    throw new WorkerAdminError('NAME_INVALID', `configuration key ${what} ${JSON.stringify(value)} is invalid: it must match ${rule}`);
  };
  if (!TYPE_PRODUCT_RE.test(key.type)) bad('type', key.type, TYPE_PRODUCT_RE.source);
  if (!TYPE_PRODUCT_RE.test(key.product)) bad('product', key.product, TYPE_PRODUCT_RE.source);
  if (!NUMBER_RE.test(key.major)) bad('major', key.major, NUMBER_RE.source);
  if (!NUMBER_RE.test(key.minor)) bad('minor', key.minor, NUMBER_RE.source);
  return { type: key.type, product: key.product, major: key.major, minor: key.minor };
}

interface StoredFile {
  key: ConfigurationKey;
  layers_json: string;
  pivot_json: string;
  saved_at_ms: number;
}

function fromFile(file: StoredFile): StoredConfiguration {
  return { key: file.key, found: true, layers_json: file.layers_json, pivot_json: file.pivot_json, saved_at_ms: file.saved_at_ms };
}

/** A store of one JSON file per key: {dir}/{type}/{product}/{major}.{minor}.json. */
export function createFileConfigurationStore(dir: string): ConfigurationStore {
  const pathOf = (key: ConfigurationKey): string => {
    const k = assertConfigurationKey(key);
    return join(dir, k.type, k.product, `${k.major}.${k.minor}.json`);
  };
  const readStored = async (path: string): Promise<StoredConfiguration | undefined> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return fromFile(JSON.parse(text) as StoredFile);
    } catch (error) {
      throw new WorkerAdminError('CONFIG_INVALID', `stored configuration ${path} is not valid JSON`, { cause: error });
    }
  };
  return {
    get: (key) => readStored(pathOf(key)),
    async save(c) {
      const key = assertConfigurationKey(c.key);
      const file: StoredFile = { key, layers_json: c.layers_json, pivot_json: c.pivot_json, saved_at_ms: c.saved_at_ms };
      await writeFileAtomic(pathOf(key), `${JSON.stringify(file)}\n`, 0o600);
    },
    async list() {
      const found: StoredConfiguration[] = [];
      const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      for (const entry of entries) {
        if (!entry.isFile() || !/^\d+\.\d+\.json$/.test(entry.name)) continue;
        const stored = await readStored(join(entry.parentPath ?? entry.path, entry.name));
        if (stored) found.push(stored);
      }
      return found;
    },
  };
}
