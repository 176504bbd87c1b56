// Update policies at run time: the ADMIN_SET_UPDATE_MODE payload validated once, and the state.json record of it.
import semver from 'semver';
import { WorkerAdminError, isWorkerAdminError } from '../../common/errors.js';
import { formatDuration } from '../../common/units.js';
import { parseUpdateAt, updateAtProblem } from '../../common/cron.js';
import { FieldReader } from '../../config/fields.js';
import type { UpdateMode, UpdatePolicy } from '../../config/types.js';
import type { UpdateModeRecord } from '../../process/state-schema.js';

/** The default policy of a product the config does not list. */
export const MANUAL: UpdatePolicy = { mode: 'manual', intervalMs: 60_000, range: undefined, at: undefined, cron: undefined };

// Below this, auto mode would hammer the repository; tests use a few hundred ms.
const MIN_INTERVAL_MS = 100;

/** Validates an ADMIN_SET_UPDATE_MODE payload against the current policy; INVALID (PAYLOAD_INVALID) names the field. */
export function parseModePayload(payload: Record<string, unknown>, current: UpdatePolicy): UpdatePolicy {
  const reader = new FieldReader('ADMIN_SET_UPDATE_MODE', '');
  try {
    const mode = reader.choice<UpdateMode>(payload['mode'], 'mode', ['manual', 'auto', 'planned'], 'manual');
    const at = payload['at'];
    if (at !== undefined && mode !== 'planned') reader.fail('at', `is only used with mode planned (mode is ${mode})`);
    if (mode === 'planned' && at === undefined) reader.fail('at', 'is required with mode planned ("HH:MM" daily in local time, or a 5-field cron expression)');
    const problem = at === undefined ? undefined : updateAtProblem(at);
    if (problem !== undefined) reader.fail('at', problem);
    const interval = typeof payload['interval'] === 'number' ? `${payload['interval']}ms` : payload['interval'];
    const intervalMs = reader.duration(interval, 'interval', `${current.intervalMs}ms`);
    if (intervalMs < MIN_INTERVAL_MS) reader.fail('interval', `${formatDuration(intervalMs)} is too short: at least ${MIN_INTERVAL_MS}ms`);
    const range = payload['range'] === undefined ? current.range : reader.optionalString(payload['range'], 'range');
    if (range !== undefined && semver.validRange(range) === null) reader.fail('range', `${JSON.stringify(range)} is not a semver range (e.g. "^1", "~1.2", ">=1.2 <2")`);
    const atText = typeof at === 'string' ? at.trim() : undefined; // any other type failed just above
    return { mode, intervalMs, range, at: atText, cron: atText === undefined ? undefined : parseUpdateAt(atText, 'at') };
  } catch (error) {
    if (isWorkerAdminError(error, 'CONFIG_INVALID')) throw new WorkerAdminError('PAYLOAD_INVALID', error.message, { cause: error });
    throw error;
  }
}

/** What state.json keeps of a policy. */
export function toRecord(policy: UpdatePolicy): UpdateModeRecord {
  return {
    mode: policy.mode, intervalMs: policy.intervalMs,
    ...(policy.at !== undefined ? { at: policy.at } : {}), ...(policy.range !== undefined ? { range: policy.range } : {}),
  };
}

/** A policy back from state.json; a record that no longer validates is refused so the config's policy applies. */
export function fromRecord(record: UpdateModeRecord, current: UpdatePolicy): UpdatePolicy {
  return parseModePayload({
    mode: record.mode,
    ...(record.at !== undefined ? { at: record.at } : {}),
    ...(record.intervalMs !== undefined ? { interval: record.intervalMs } : {}),
    ...(record.range !== undefined ? { range: record.range } : {}),
  }, current);
}

/** The reply of ADMIN_SET_UPDATE_MODE: {mode, at, interval, nextCheck}. */
export function describePolicy(policy: UpdatePolicy, nextCheck: number | undefined): Record<string, unknown> {
  return {
    mode: policy.mode,
    at: policy.mode === 'planned' ? policy.at ?? null : null,
    interval: policy.mode === 'auto' ? formatDuration(policy.intervalMs) : null,
    nextCheck: nextCheck === undefined ? null : new Date(nextCheck).toISOString(),
  };
}
