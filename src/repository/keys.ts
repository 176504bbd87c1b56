// Key definitions (docs/repository.md): one layer parsed and checked, four layers merged by name, the most specific winning.
import { WorkerAdminError } from '../common/errors.js';
import { quoteName } from '../common/names.js';
import { parseYamlDocument, type YamlLimits, type YamlNode } from '../common/yaml.js';

export type KeyType = 'string' | 'integer' | 'number' | 'boolean';
export type KeyValue = string | number | boolean;
/** The four layers, from the least to the most specific. */
export const LAYER_NAMES = ['type', 'product', 'major', 'minor'] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

/** One key as written in a keys.yaml. */
interface KeyDefinition {
  name: string;
  type: KeyType;
  mandatory?: boolean;
  default?: KeyValue;
  secret?: boolean;
  values?: KeyValue[];
  description?: string;
}

/** One keys layer as fetched (a 404 is an empty `keys`). */
export interface KeysLayer {
  layer: LayerName;
  keys: KeyDefinition[];
}

/** A merged key: its definition and the layer that gave it. */
export interface MergedKey extends KeyDefinition {
  layer: LayerName;
}

const KEY_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const KEY_TYPES: readonly string[] = ['string', 'integer', 'number', 'boolean'];
const KEY_FIELDS: readonly string[] = ['name', 'type', 'mandatory', 'default', 'secret', 'values', 'description'];

/** Parses a keys.yaml text for `layer`; errors name the file, the line and the key. */
export function parseKeysYaml(text: string, layer: LayerName, limits: YamlLimits): KeysLayer {
  const parsed = parseYamlDocument(text, limits);
  const tree = parsed.tree();
  const items = tree?.kind === 'sequence' ? tree.items : [];
  return { layer, keys: parseKeysValue(parsed.value, `${limits.file} (layer ${layer})`, items) };
}

/** Checks a keys layer already decoded (YAML or stored JSON); `where` names the source in errors. */
export function parseKeysValue(value: unknown, where: string, nodes: readonly YamlNode[] = []): KeyDefinition[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new WorkerAdminError('KEYS_INVALID', `${where}: expected a list of key definitions`);
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    const node = nodes[index];
    const at = node ? `${where} line ${node.line}` : `${where} item ${index + 1}`;
    const key = parseKey(item, at);
    if (seen.has(key.name)) throw new WorkerAdminError('KEYS_INVALID', `${at}: key ${quoteName(key.name)} is defined twice in the same layer`);
    seen.add(key.name);
    return key;
  });
}

function parseKey(item: unknown, at: string): KeyDefinition {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new WorkerAdminError('KEYS_INVALID', `${at}: a key definition must be a mapping with name and type`);
  const r = item as Record<string, unknown>;
  if (typeof r['name'] !== 'string' || !KEY_NAME_RE.test(r['name'])) throw new WorkerAdminError('KEYS_INVALID', `${at}: key name ${quoteName(r['name'])} is invalid: it must match ${KEY_NAME_RE.source}`);
  const name = r['name'];
  const bad = (what: string): WorkerAdminError => new WorkerAdminError('KEYS_INVALID', `${at}: key ${quoteName(name)}: ${what}`);
  for (const field of Object.keys(r)) if (!KEY_FIELDS.includes(field)) throw bad(`unknown field ${quoteName(field)} (expected ${KEY_FIELDS.join(', ')})`);
  if (typeof r['type'] !== 'string' || !KEY_TYPES.includes(r['type'])) throw bad(`type ${quoteName(r['type'])} is invalid (expected ${KEY_TYPES.join(' | ')})`);
  const type = r['type'] as KeyType;
  const key: KeyDefinition = { name, type };
  for (const flag of ['mandatory', 'secret'] as const) {
    if (r[flag] === undefined || r[flag] === null) continue;
    if (typeof r[flag] !== 'boolean') throw bad(`${flag} must be true or false`);
    key[flag] = r[flag];
  }
  if (r['description'] !== undefined && r['description'] !== null) {
    if (typeof r['description'] !== 'string') throw bad('description must be a string');
    key.description = r['description'];
  }
  if (r['values'] !== undefined && r['values'] !== null) {
    if (!Array.isArray(r['values']) || r['values'].length === 0) throw bad('values must be a non-empty list');
    key.values = r['values'].map((v: unknown) => {
      if (!hasType(v, type)) throw bad(`value ${quoteName(v)} in values is not of type ${type}`);
      return v;
    });
  }
  if (r['default'] !== undefined && r['default'] !== null) {
    const d = r['default'];
    if (!hasType(d, type)) throw bad(`default ${quoteName(d)} is not of type ${type}`);
    if (key.values && !key.values.includes(d)) throw bad(`default ${quoteName(d)} is not one of its values`);
    key.default = d;
  }
  return key;
}

/** True when `value` already has the key's type (no conversion). */
export function hasType(value: unknown, type: KeyType): value is KeyValue {
  switch (type) {
    case 'string': return typeof value === 'string';
    case 'boolean': return typeof value === 'boolean';
    case 'integer': return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
  }
}

/** Merges layers by key name: a later (more specific) layer replaces the definition, in first-seen order. */
export function mergeKeys(layers: readonly KeysLayer[]): MergedKey[] {
  const ordered = [...layers].sort((a, b) => LAYER_NAMES.indexOf(a.layer) - LAYER_NAMES.indexOf(b.layer));
  const merged = new Map<string, MergedKey>();
  for (const { layer, keys } of ordered) {
    for (const key of keys) merged.set(key.name, { ...key, layer });
  }
  return [...merged.values()];
}

/** Key definitions safe to print: secret keys' defaults replaced. */
export function redactKeys(keys: readonly MergedKey[]): MergedKey[] {
  return keys.map((k) => (k.secret && k.default !== undefined ? { ...k, default: REDACTED } : k));
}

/** What a secret value is printed as. */
export const REDACTED = '[redacted]';
