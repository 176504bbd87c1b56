// Key values for one instance: params > admin config > default, converted and checked against the merged keys.
import { WorkerAdminError } from '../common/errors.js';
import { quoteName } from '../common/names.js';
import { hasType, REDACTED, type KeyType, type KeyValue, type MergedKey } from './keys.js';

/** Where a value came from, named in errors. */
type ValueSource = 'params' | 'config' | 'default';

/** The resolved configuration given to a worker on stdin. */
export type ResolvedConfig = Record<string, KeyValue>;

/** The one key every worker may receive without defining it. */
const DRY_RUN_KEY = 'dry_run';

/** Resolves every key's value; CONFIG_INVALID naming each key at fault, its expected type and its layer. */
export function resolveConfig(
  keys: readonly MergedKey[],
  input: { params?: Record<string, unknown>; config?: Record<string, unknown> },
): ResolvedConfig {
  const params = input.params ?? {};
  const config = input.config ?? {};
  const byName = new Map(keys.map((k) => [k.name, k]));
  const problems: string[] = [];
  for (const [source, values] of [['params', params], ['config', config]] as const) {
    for (const name of Object.keys(values)) {
      if (!byName.has(name) && name !== DRY_RUN_KEY) problems.push(`key ${quoteName(name)} (from ${source}) is not defined by any keys layer`);
    }
  }
  const out: ResolvedConfig = {};
  for (const key of keys) {
    const [source, raw] = pick(key.name, params, config, key.default);
    if (raw === undefined) {
      if (key.mandatory) problems.push(`key ${quoteName(key.name)} (${key.type}, layer ${key.layer}) is mandatory and has no value`);
      continue;
    }
    const converted = convertValue(raw, key.type);
    if (converted === undefined) {
      const shown = key.secret ? 'a value' : quoteName(raw);
      problems.push(`key ${quoteName(key.name)} (layer ${key.layer}): ${shown} from ${source} is not of type ${key.type}`);
      continue;
    }
    if (key.values && !key.values.includes(converted)) {
      const shown = key.secret ? 'the value' : quoteName(converted);
      problems.push(`key ${quoteName(key.name)} (${key.type}, layer ${key.layer}): ${shown} from ${source} is not one of ${key.values.map((v) => JSON.stringify(v)).join(', ')}`);
      continue;
    }
    out[key.name] = converted;
  }
  if (!byName.has(DRY_RUN_KEY)) {
    const [source, raw] = pick(DRY_RUN_KEY, params, config, undefined);
    if (raw !== undefined) {
      const converted = convertValue(raw, 'boolean');
      if (converted === undefined) problems.push(`key "dry_run": ${quoteName(raw)} from ${source} is not of type boolean`);
      else out[DRY_RUN_KEY] = converted;
    }
  }
  if (problems.length > 0) {
    throw new WorkerAdminError('CONFIG_INVALID', problems.join('; '), { details: { problems } });
  }
  return out;
}

function pick(name: string, params: Record<string, unknown>, config: Record<string, unknown>, fallback: unknown): [ValueSource, unknown] {
  if (Object.hasOwn(params, name) && params[name] !== undefined && params[name] !== null) return ['params', params[name]];
  if (Object.hasOwn(config, name) && config[name] !== undefined && config[name] !== null) return ['config', config[name]];
  return ['default', fallback];
}

/** Converts a value (strings from `${ENV}` included) to `type`; undefined when it does not convert. */
function convertValue(value: unknown, type: KeyType): KeyValue | undefined {
  if (hasType(value, type)) return value;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  switch (type) {
    case 'integer': {
      if (!/^[-+]?\d+$/.test(text)) return undefined;
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'number': {
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : undefined;
    case 'string':
      return undefined;
  }
}

/** A copy of `values` safe to log: secret keys' values replaced. */
export function redactConfig(keys: readonly MergedKey[], values: Record<string, unknown>): Record<string, unknown> {
  const secret = new Set(keys.filter((k) => k.secret).map((k) => k.name));
  return Object.fromEntries(Object.entries(values).map(([name, v]) => [name, secret.has(name) ? REDACTED : v]));
}
