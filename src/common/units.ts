// Durations ("30s", "10m", "1h", "250ms", or a number of ms) and sizes ("100MiB") parsed once at the edge.
import { WorkerAdminError } from './errors.js';

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from a duration; a bare number is milliseconds. `what` names the field in errors. */
export function parseDuration(value: unknown, what = 'duration'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value);
  const match = typeof value === 'string' ? DURATION_RE.exec(value.trim()) : null;
  if (!match) {
    throw new WorkerAdminError('DURATION_INVALID', `${what}: ${JSON.stringify(value)} is not a duration (e.g. "250ms", "30s", "10m", "1h")`);
  }
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']!);
}

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/;
const SIZE_UNITS: Record<string, number> = {
  B: 1, KB: 1000, KiB: 1024, MB: 1000 ** 2, MiB: 1024 ** 2, GB: 1000 ** 3, GiB: 1024 ** 3,
};

/** Bytes from a size; a bare number is bytes. `what` names the field in errors. */
export function parseSize(value: unknown, what = 'size'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const match = typeof value === 'string' ? SIZE_RE.exec(value.trim()) : null;
  if (!match) {
    throw new WorkerAdminError('SIZE_INVALID', `${what}: ${JSON.stringify(value)} is not a size (e.g. "512KiB", "100MiB", "1GiB")`);
  }
  return Math.round(Number(match[1]) * SIZE_UNITS[match[2] ?? 'B']!);
}

/** A duration for people: "1.5s", "250ms", "2m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)}m`;
  return `${+(ms / 3_600_000).toFixed(1)}h`;
}

/** A duration as a config file would say it, exactly: the largest unit that divides it ("90s", "5m", "250ms"). */
export function formatDurationExact(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
