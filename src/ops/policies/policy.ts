// A policy of the ops API (docs/ops.md) as validated once, and as stored in state.json.
import type { PolicyRecord } from '../../process/state-schema.js';
import { productKey } from '../../common/names.js';

/** The most recent runs kept per policy. */
export const RUNS_KEPT = 5;

/** One send of a policy's command and its outcome. */
export interface PolicyRun {
  /** ISO time the command was sent. */
  at: string;
  /** The Reply status (SUCCESS, FAIL, TIMEOUT, NO_WORKER, INVALID) or ERROR when it could not be sent. */
  status: string;
  durationMs: number;
  error?: string;
  /** The command's uuid when it was a fleet tick's (`{policy}-{tick ms}`): a tick in the runs is not sent again. */
  uuid?: string;
}

/** A validated policy: which instance to run, and what to send it when. */
export interface PolicySpec {
  name: string;
  /** `type/product` and the range as written (`utils/echo@^1`); range undefined: the connector's default. */
  type: string;
  product: string;
  range: string | undefined;
  /** Normalized 5-field cron expression; undefined: the command is sent once, right after the start. */
  schedule: string | undefined;
  command: string;
  dryRun: boolean;
  /** The other config keys: values for the instance's keys (may hold secrets: never shown by the API). */
  values: Record<string, unknown>;
  /** Payload of every send. */
  scope: Record<string, unknown>;
}

/** A policy with what happened to it so far (persisted). */
export interface PolicyState {
  spec: PolicySpec;
  runs: PolicyRun[];
  /** A one-shot policy that already sent its command: it never sends again, restarts included. */
  fired: boolean;
}

/** `type/product@range` (or without `@range`) as written in the policy. */
export function packageText(spec: Pick<PolicySpec, 'type' | 'product' | 'range'>): string {
  return `${productKey(spec)}${spec.range === undefined ? '' : `@${spec.range}`}`;
}

/** The params the instance is started with: the other keys, plus dry_run. */
export function instanceParams(spec: PolicySpec): Record<string, unknown> {
  return { ...spec.values, dry_run: spec.dryRun };
}

/** The state.json form of a policy. */
export function toRecord(state: PolicyState): PolicyRecord {
  const { spec } = state;
  return {
    name: spec.name, type: spec.type, product: spec.product, range: spec.range ?? null, schedule: spec.schedule ?? null,
    command: spec.command, dryRun: spec.dryRun, values: spec.values, scope: spec.scope, runs: state.runs, fired: state.fired,
  };
}

/** A policy read back from state.json; undefined (the caller logs it) when the record is not one this module wrote. */
export function fromRecord(record: PolicyRecord): PolicyState | undefined {
  const r = record as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const obj = (k: string): Record<string, unknown> | undefined => (isRecord(r[k]) ? (r[k] as Record<string, unknown>) : undefined);
  const type = str('type');
  const product = str('product');
  const command = str('command');
  const values = obj('values');
  const scope = obj('scope');
  if (!type || !product || !command || !values || !scope || typeof r['dryRun'] !== 'boolean') return undefined;
  const runs = Array.isArray(r['runs']) ? (r['runs'] as unknown[]).filter(isRun).slice(-RUNS_KEPT) : [];
  return {
    spec: { name: record.name, type, product, range: str('range'), schedule: str('schedule'), command, dryRun: r['dryRun'], values, scope },
    runs, fired: r['fired'] === true,
  };
}

function isRun(value: unknown): value is PolicyRun {
  return isRecord(value) && typeof value['at'] === 'string' && typeof value['status'] === 'string' && typeof value['durationMs'] === 'number';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
