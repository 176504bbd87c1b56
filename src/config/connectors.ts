// The `connectors` list of the admin config: names, versions, config values, update policy, supervision.
import semver from 'semver';
import { productKey, TYPE_PRODUCT_RE, VERSION_RE } from '../common/names.js';
import { parseUpdateAt, updateAtProblem } from '../common/cron.js';
import { describe, type FieldReader } from './fields.js';
import type { ConfigScalar, ConnectorConfig, RestartMode, UpdateMode, UpdatePolicy, VersionSpec } from './types.js';

/** The fields of one connector that mean the same in admin.yaml and in a fleet's desired state. */
export const SHARED_CONNECTOR_FIELDS = ['type', 'product', 'versions', 'config', 'update', 'restart'] as const;
/** The fields that belong to one host (its users, memory, interpreter): admin.yaml only. */
export const HOST_CONNECTOR_FIELDS = ['runAs', 'maxMemory', 'python'] as const;
const CONNECTOR_FIELDS = [...SHARED_CONNECTOR_FIELDS, ...HOST_CONNECTOR_FIELDS] as const;
const UPDATE_FIELDS = ['mode', 'interval', 'range', 'at'] as const;
const UPDATE_MODES: readonly UpdateMode[] = ['manual', 'auto', 'planned'];
const RESTART_MODES: readonly RestartMode[] = ['always', 'on-failure', 'never'];
const DEFAULT_UPDATE_INTERVAL = '60s';
const RUN_AS_RE = /^(\d+|[a-z_][a-z0-9_-]{0,31}\$?)$/i;

/** Validates the `connectors` list; a product listed twice is refused (payloads name products). */
export function readConnectors(reader: FieldReader, value: unknown): ConnectorConfig[] {
  return readConnectorList(reader, value, readConnector);
}

/** A `connectors` list read item by item with `read`; a product listed twice is refused. */
export function readConnectorList<T extends { type: string; product: string }>(
  reader: FieldReader, value: unknown, read: (reader: FieldReader, item: unknown, field: string) => T,
): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) reader.fail('connectors', `must be a list, got ${describe(value)}`);
  const seen = new Map<string, number>();
  return value.map((item, index) => {
    const connector = read(reader, item, `connectors[${index}]`);
    const ref = productKey(connector);
    const first = seen.get(ref);
    if (first !== undefined) reader.fail(`connectors[${index}]`, `${ref} is already listed at connectors[${first}]`);
    seen.set(ref, index);
    return connector;
  });
}

/** What admin.yaml and a desired state share of one connector; `update.raw` holds the update fields as written. */
interface SharedConnector {
  type: string;
  product: string;
  ref: string;
  versions: VersionSpec[];
  config: Record<string, ConfigScalar>;
  update: { policy: UpdatePolicy; raw: Record<string, unknown> };
  restart: RestartMode;
}

/** Reads the shared fields of one connector, `raw` being its mapping (its field names already checked). */
export function readSharedConnector(reader: FieldReader, value: unknown, raw: Record<string, unknown>, field: string, updateExtra: readonly string[] = []): SharedConnector {
  if (value === undefined || value === null) reader.fail(field, 'must be a mapping with type and product');
  const type = readName(reader, raw['type'], `${field}.type`);
  const product = readName(reader, raw['product'], `${field}.product`);
  return {
    type,
    product,
    ref: productKey({ type, product }),
    versions: readVersions(reader, raw['versions'], `${field}.versions`),
    config: readValues(reader, raw['config'], `${field}.config`),
    update: readUpdatePolicy(reader, raw['update'], `${field}.update`, updateExtra),
    restart: reader.choice(raw['restart'], `${field}.restart`, RESTART_MODES, 'always'),
  };
}

function readConnector(reader: FieldReader, value: unknown, field: string): ConnectorConfig {
  const raw = reader.section(value, field, CONNECTOR_FIELDS);
  const { update, ...shared } = readSharedConnector(reader, value, raw, field);
  const maxMemory = reader.optionalString(typeof raw['maxMemory'] === 'number' ? String(raw['maxMemory']) : raw['maxMemory'], `${field}.maxMemory`);
  const runAs = reader.optionalString(typeof raw['runAs'] === 'number' ? String(raw['runAs']) : raw['runAs'], `${field}.runAs`);
  if (runAs !== undefined && !RUN_AS_RE.test(runAs)) reader.fail(`${field}.runAs`, `${JSON.stringify(runAs)} is not a user name or uid`);
  return {
    ...shared,
    update: update.policy,
    runAs,
    maxMemoryBytes: maxMemory === undefined ? undefined : positiveSize(reader, maxMemory, `${field}.maxMemory`),
    python: readPython(reader, raw['python'], `${field}.python`),
  };
}

// The interpreter a Python connector runs with (a path or a command name on PATH); unset: the admin finds one with grpcio.
function readPython(reader: FieldReader, value: unknown, field: string): string | undefined {
  const text = reader.optionalString(value, field);
  if (text !== undefined && (text.trim() === '' || /\s/.test(text))) reader.fail(field, `${JSON.stringify(text)} is not an interpreter path or command name`);
  return text;
}

function readName(reader: FieldReader, value: unknown, field: string): string {
  if (value === undefined || value === null) reader.fail(field, 'is required');
  const text = reader.string(value, field, '');
  if (!TYPE_PRODUCT_RE.test(text)) reader.fail(field, `${JSON.stringify(text)} is invalid: it must match ${TYPE_PRODUCT_RE.source}`);
  return text;
}

function positiveSize(reader: FieldReader, value: string, field: string): number {
  const bytes = reader.size(value, field, 0);
  if (bytes <= 0) reader.fail(field, 'must be above 0');
  return bytes;
}

/** One version entry: `latest`, an exact `major.minor`, or a semver range. */
function versionSpecProblem(value: unknown): string | VersionSpec {
  if (typeof value === 'number') return `${value} is a number: quote versions ("1.10"), YAML reads 1.10 as 1.1`;
  if (typeof value !== 'string') return `must be a version or range string, got ${describe(value)}`;
  const text = value.trim();
  if (text === 'latest') return { kind: 'latest' };
  if (VERSION_RE.test(text)) return { kind: 'exact', version: text };
  if (text.length > 0 && semver.validRange(text) !== null) return { kind: 'range', range: text };
  return `${JSON.stringify(value)} is neither a "major.minor" version nor a semver range (e.g. "^1", "~1.2", "1.x")`;
}

function readVersions(reader: FieldReader, value: unknown, field: string): VersionSpec[] {
  if (value === undefined || value === null) return [{ kind: 'latest' }];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) reader.fail(field, `must be a list of versions or ranges, got ${describe(value)}`);
  if (list.length === 0) return [{ kind: 'latest' }];
  return list.map((item, index) => {
    const spec = versionSpecProblem(item);
    if (typeof spec === 'string') reader.fail(typeof value === 'string' ? field : `${field}[${index}]`, spec);
    return spec;
  });
}

function readValues(reader: FieldReader, value: unknown, field: string): Record<string, ConfigScalar> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) reader.fail(field, `must be a mapping of key names to values, got ${describe(value)}`);
  const values: Record<string, ConfigScalar> = Object.create(null) as Record<string, ConfigScalar>;
  for (const [key, item] of Object.entries(value)) {
    if (key.length === 0) reader.fail(field, 'has an empty key name');
    if (typeof item !== 'string' && typeof item !== 'boolean' && !(typeof item === 'number' && Number.isFinite(item))) {
      reader.fail(`${field}.${key}`, `must be a string, number or boolean, got ${describe(item)}`);
    }
    values[key] = item;
  }
  return values;
}

/** Validates an update policy; `extra` fields are allowed beside it and returned as written in `raw`. */
function readUpdatePolicy(reader: FieldReader, value: unknown, field: string, extra: readonly string[]): { policy: UpdatePolicy; raw: Record<string, unknown> } {
  const raw = reader.section(value, field, [...UPDATE_FIELDS, ...extra]);
  const mode = reader.choice(raw['mode'], `${field}.mode`, UPDATE_MODES, 'manual');
  const intervalMs = reader.duration(raw['interval'], `${field}.interval`, DEFAULT_UPDATE_INTERVAL);
  if (intervalMs <= 0) reader.fail(`${field}.interval`, 'must be above 0');
  const rangeText = reader.optionalString(raw['range'], `${field}.range`);
  if (rangeText !== undefined && semver.validRange(rangeText) === null) {
    reader.fail(`${field}.range`, `${JSON.stringify(rangeText)} is not a semver range (e.g. "^1", "~1.2", ">=1.2 <2")`);
  }
  const at = raw['at'] === undefined || raw['at'] === null ? undefined : raw['at'];
  if (at !== undefined && mode !== 'planned') reader.fail(`${field}.at`, `is only used with mode: planned (mode is ${mode})`);
  if (mode === 'planned' && at === undefined) reader.fail(`${field}.at`, 'is required with mode: planned ("HH:MM" daily, or a 5-field cron expression)');
  let cron: string | undefined;
  if (at !== undefined) {
    const problem = updateAtProblem(at);
    if (problem) reader.fail(`${field}.at`, problem);
    cron = parseUpdateAt(at, `${field}.at`);
  }
  const policy = { mode, intervalMs, range: rangeText, at: typeof at === 'string' ? at.trim() : undefined, cron }; // any other type failed just above
  return { policy, raw };
}

/** A `versions` entry as it is written (`^1`, `1.2`, `latest`). */
export function versionSpecText(spec: VersionSpec): string {
  return spec.kind === 'exact' ? spec.version : spec.kind === 'range' ? spec.range : 'latest';
}
