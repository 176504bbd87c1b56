// Typed field readers for the admin config: each refusal is CONFIG_INVALID naming the file, line, field path and reason.
import { isAbsolute, resolve } from 'node:path';
import { parseAddress, type Address } from '../common/address.js';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { parseSize } from '../common/units.js';

/** How a message names the place of a field: `admin.yaml (line 7)` (the default) or `desired.yaml:7`. */
type LocationStyle = 'parenthesis' | 'colon';

/** Reads fields of one config document; `lines` maps field paths to source lines when known. */
export class FieldReader {
  constructor(
    readonly file: string,
    readonly baseDir: string,
    private readonly lines: ReadonlyMap<string, number> = new Map(),
    private readonly style: LocationStyle = 'parenthesis',
  ) {}

  /** Throws CONFIG_INVALID for `field`. */
  fail(field: string, reason: string): never {
    const line = this.lineOf(field);
    const where = line === undefined ? this.file : this.style === 'colon' ? `${this.file}:${line}` : `${this.file} (line ${line})`;
    throw new WorkerAdminError('CONFIG_INVALID', `${where}: ${field}: ${reason}`, { details: { file: this.file, field, reason } });
  }

  private lineOf(field: string): number | undefined {
    // A missing field has no line of its own: name the line of the closest parent that has one.
    for (let path = field; path.length > 0; path = parentPath(path)) {
      const line = this.lines.get(path);
      if (line !== undefined) return line;
    }
    return undefined;
  }

  /** A mapping with only `allowed` keys; undefined/null → {}. */
  section(value: unknown, field: string, allowed: readonly string[]): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(field || '(root)', `must be a mapping, got ${describe(value)}`);
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.fail(join(field, key), `unknown field (allowed: ${allowed.join(', ')})`);
    }
    return record;
  }

  /** A string; undefined/null → `fallback`. */
  string(value: unknown, field: string, fallback: string): string {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') this.fail(field, `must be a string, got ${describe(value)}`);
    return value;
  }

  /** An optional string: undefined, null and "" are absent. */
  optionalString(value: unknown, field: string): string | undefined {
    const text = this.string(value, field, '');
    return text === '' ? undefined : text;
  }

  /** One of `choices`; undefined/null → `fallback`. */
  choice<T extends string>(value: unknown, field: string, choices: readonly T[], fallback: T): T {
    const text = this.string(value, field, fallback);
    if (!(choices as readonly string[]).includes(text)) this.fail(field, `${JSON.stringify(text)} is not one of ${choices.join(', ')}`);
    return text as T;
  }

  /** Milliseconds of a duration with a unit ("250ms", "30s", "10m", "1h"); a bare 0 is allowed. */
  duration(value: unknown, field: string, fallback: string): number {
    const raw = value === undefined || value === null ? fallback : value;
    const text = typeof raw === 'number' ? String(raw) : raw;
    if (typeof text !== 'string') this.fail(field, `must be a duration such as "30s", got ${describe(raw)}`);
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
    if (!match) this.fail(field, `${JSON.stringify(raw)} is not a duration (e.g. "250ms", "30s", "10m", "1h")`);
    if (match[2] === undefined && Number(match[1]) !== 0) this.fail(field, `${JSON.stringify(raw)} has no unit: write e.g. "${match[1]}ms" or "${match[1]}s"`);
    const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms']!;
    return Math.round(Number(match[1]) * factor);
  }

  /** Bytes of a size ("100MiB", "512KiB"; a bare integer is bytes). */
  size(value: unknown, field: string, fallback: string | number): number {
    const raw = value === undefined || value === null ? fallback : value;
    try {
      return parseSize(raw, field);
    } catch {
      this.fail(field, `${JSON.stringify(raw)} is not a size (e.g. "512KiB", "100MiB", "1GiB", or a number of bytes)`);
    }
  }

  /** A whole number in [min, max]; digit strings (from `${VAR}`) are accepted. */
  integer(value: unknown, field: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    let n: number;
    if (value === undefined || value === null) n = fallback;
    else if (typeof value === 'number') n = value;
    else if (typeof value === 'string' && /^\d+$/.test(value.trim())) n = Number(value.trim());
    else this.fail(field, `must be a whole number, got ${describe(value)}`);
    if (!Number.isInteger(n)) this.fail(field, `must be a whole number, got ${n}`);
    if (n < min || n > max) this.fail(field, `${n} is out of range (${min} to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max})`);
    return n;
  }

  /** A filesystem path, resolved against the config file's folder. */
  path(value: unknown, field: string, fallback: string): string {
    const text = this.string(value, field, fallback);
    if (text.length === 0) this.fail(field, 'must not be empty');
    if (text.includes('\0')) this.fail(field, 'must not contain a NUL byte');
    return isAbsolute(text) ? resolve(text) : resolve(this.baseDir, text);
  }

  /** An address (`unix:PATH` relative to the config folder, or HOST:PORT). */
  address(value: unknown, field: string, fallback: string): Address {
    const text = this.string(value, field, fallback);
    try {
      return parseAddress(text, this.baseDir);
    } catch (error) {
      this.fail(field, errorMessage(error));
    }
  }
}

/** `a.b` + `c` → `a.b.c`. */
function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function parentPath(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}

/** A short description of a value's type for messages: `number 3`, `a list`, `a mapping`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}
