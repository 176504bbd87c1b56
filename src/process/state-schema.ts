// The schema of {stateDir}/state.json (version 1) and its tolerant validation: a bad entry is dropped and named.
import { IDENTIFIER_RE, TYPE_PRODUCT_RE, VERSION_RE } from '../common/names.js';
import type { UpdateMode } from '../config/types.js';

const STATE_FILE_VERSION = 1;

/** An instance the admin must keep running: restored on the next start. */
export interface DesiredInstance {
  identifier: string;
  type: string;
  product: string;
  version: string;
  /** Instance params (values for the worker's keys); state.json is 0600 since some may be secrets. */
  params: Record<string, unknown>;
}

/** A worker process spawned by an admin run: what the next run checks and kills. */
export interface ProcessRecord {
  identifier: string;
  version: string;
  pid: number;
  /** Its process group (the worker leads its own: pgid === pid). */
  pgid: number;
  /** Field 22 of /proc/PID/stat at spawn: the pid is ours only while this still matches. */
  startTime: number;
  /** The admin run that spawned it. */
  runId: string;
}

/** A run-time update mode (ADMIN_SET_UPDATE_MODE, ADMIN_ROLLBACK) that overrides the config file's. */
export interface UpdateModeRecord {
  mode: UpdateMode;
  at?: string;
  intervalMs?: number;
  range?: string;
}

/** A policy of the ops API (owned by the ops module; stored as given, keyed by `name`). */
export interface PolicyRecord {
  name: string;
  [field: string]: unknown;
}

export interface StateFile {
  version: typeof STATE_FILE_VERSION;
  instances: DesiredInstance[];
  processes: ProcessRecord[];
  /** By `type/product`. */
  updateModes: Record<string, UpdateModeRecord>;
  /** By `type/product`: the version before the last update, for ADMIN_ROLLBACK. */
  previousVersions: Record<string, string>;
  policies: PolicyRecord[];
}

/** An empty state (first start, or after a corrupt file was set aside). */
export function emptyState(): StateFile {
  return { version: STATE_FILE_VERSION, instances: [], processes: [], updateModes: {}, previousVersions: {}, policies: [] };
}

/** Validates parsed JSON: throws (with `reason`) when the file as a whole is unusable; drops bad entries into `warnings`. */
export function validateState(value: unknown, warnings: string[]): StateFile {
  if (!isRecord(value)) throw new Error('it is not a JSON object');
  if (value['version'] !== STATE_FILE_VERSION) throw new Error(`version ${JSON.stringify(value['version'])} is not supported (expected ${STATE_FILE_VERSION})`);
  const state = emptyState();
  state.instances = entries(value, 'instances', warnings, instanceProblem) as DesiredInstance[];
  state.processes = entries(value, 'processes', warnings, processProblem) as ProcessRecord[];
  state.policies = entries(value, 'policies', warnings, (p) => (typeof p['name'] === 'string' && p['name'] !== '' ? undefined : 'name is missing')) as PolicyRecord[];
  state.updateModes = map(value, 'updateModes', warnings, (v) => (isRecord(v) && ['manual', 'auto', 'planned'].includes(v['mode'] as string) ? undefined : 'mode must be manual, auto or planned')) as Record<string, UpdateModeRecord>;
  state.previousVersions = map(value, 'previousVersions', warnings, (v) => (typeof v === 'string' && VERSION_RE.test(v) ? undefined : 'must be a "major.minor" version')) as Record<string, string>;
  return state;
}

function instanceProblem(item: Record<string, unknown>): string | undefined {
  if (!matches(item['identifier'], IDENTIFIER_RE)) return 'identifier is invalid';
  if (!matches(item['type'], TYPE_PRODUCT_RE)) return 'type is invalid';
  if (!matches(item['product'], TYPE_PRODUCT_RE)) return 'product is invalid';
  if (!matches(item['version'], VERSION_RE)) return 'version is invalid';
  if (!isRecord(item['params'])) return 'params must be an object';
  return undefined;
}

function processProblem(item: Record<string, unknown>): string | undefined {
  if (!matches(item['identifier'], IDENTIFIER_RE)) return 'identifier is invalid';
  if (typeof item['version'] !== 'string') return 'version is invalid';
  for (const field of ['pid', 'pgid'] as const) {
    if (!Number.isInteger(item[field]) || (item[field] as number) <= 1) return `${field} must be a whole number above 1`;
  }
  if (!Number.isInteger(item['startTime']) || (item['startTime'] as number) < 0) return 'startTime must be a whole number';
  if (typeof item['runId'] !== 'string') return 'runId is missing';
  return undefined;
}

function entries(value: Record<string, unknown>, field: string, warnings: string[], problem: (item: Record<string, unknown>) => string | undefined): unknown[] {
  const list = value[field];
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    warnings.push(`${field}: not a list, ignored`);
    return [];
  }
  return list.filter((item, index) => {
    const reason = isRecord(item) ? problem(item) : 'not an object';
    if (reason) warnings.push(`${field}[${index}]: ${reason}, entry ignored`);
    return reason === undefined;
  });
}

function map(value: Record<string, unknown>, field: string, warnings: string[], problem: (item: unknown) => string | undefined): Record<string, unknown> {
  const record = value[field];
  if (record === undefined) return {};
  if (!isRecord(record)) {
    warnings.push(`${field}: not an object, ignored`);
    return {};
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) {
    const reason = problem(item);
    if (reason) warnings.push(`${field}.${key}: ${reason}, entry ignored`);
    else Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function matches(value: unknown, re: RegExp): boolean {
  return typeof value === 'string' && re.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
