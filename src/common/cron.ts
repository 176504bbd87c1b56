// The one cron implementation: 5-field expressions and `HH:MM` daily times, validated, compiled and stepped in local time.
import { WorkerAdminError } from './errors.js';

/** A compiled expression: the allowed values of each field. */
export interface CronMatcher {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Vixie cron: when both day fields are restricted (neither starts with `*`), a day matching either one fires. */
  dayOr: boolean;
}

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** The value of the first name (months count from 1, weekdays from 0). */
  nameBase?: number;
}

const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'], nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], nameBase: 0 },
];

// Quartz-style specials other cron libraries half-support: refused by name so the error is clear.
const SPECIALS: ReadonlyArray<[string, string]> = [
  ['L', '"L" (last day)'],
  ['W', '"W" (nearest weekday)'],
  ['#', '"#" (nth weekday)'],
  ['?', '"?" (no specific value)'],
];

// The longest each month can be (February in a leap year): a day/month pair beyond it never comes.
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
// Five years of days: long enough for any expression that matches at all (Feb 29 included).
const MAX_DAYS = 5 * 366;
const HHMM_RE = /^(\d{1,2}):(\d{2})$/;

type Compiled = { matcher: CronMatcher; text: string } | { problem: string };

/** Why `expr` is not an accepted 5-field cron expression (bad syntax, or a date that never comes), or undefined. */
export function cronProblem(expr: unknown): string | undefined {
  const compiled = compile(expr);
  return 'problem' in compiled ? compiled.problem : undefined;
}

/** Checks a 5-field cron expression; throws CONFIG_INVALID naming `field`. Returns it with single spaces. */
export function validateCronExpression(expr: unknown, field: string): string {
  return compiledOrThrow(expr, field).text;
}

/** Compiles `expr`; throws CONFIG_INVALID naming `field` when it is not an accepted 5-field expression. */
export function compileCron(expr: unknown, field = 'schedule'): CronMatcher {
  return compiledOrThrow(expr, field).matcher;
}

/** Why an `at` value is neither `HH:MM` (00:00–23:59) nor a 5-field cron expression, or undefined. */
export function updateAtProblem(at: unknown): string | undefined {
  if (typeof at !== 'string') return `must be "HH:MM" or a 5-field cron expression, got ${describe(at)}`;
  const match = HHMM_RE.exec(at.trim());
  if (match) {
    if (Number(match[1]) > 23 || Number(match[2]) > 59) return `time ${JSON.stringify(at)} is out of range: use 00:00 to 23:59`;
    return undefined;
  }
  if (/^\d+:\d+/.test(at.trim())) return `time ${JSON.stringify(at)} is invalid: use "HH:MM" from 00:00 to 23:59`;
  return cronProblem(at);
}

/** The 5-field cron expression of an `at`: `HH:MM` daily in local time, or a cron expression normalized. */
export function parseUpdateAt(at: unknown, field: string): string {
  const problem = updateAtProblem(at);
  if (problem) throw new WorkerAdminError('CONFIG_INVALID', `${field}: ${problem}`, { details: { field } });
  const text = (at as string).trim();
  const match = HHMM_RE.exec(text);
  if (match) return `${Number(match[2])} ${Number(match[1])} * * *`;
  return text.split(/\s+/).join(' ');
}

/**
 * The first matching minute strictly after `afterMs` (epoch ms), in local time; undefined when none comes within five
 * years. The search walks wall-clock fields (as UTC, so no DST shift moves it): a time a spring-forward skips runs at
 * the shifted time (02:30 → 03:30) that day, like cron, instead of waiting a day; a repeated hour runs once.
 */
export function nextCronTime(matcher: CronMatcher, afterMs: number): number | undefined {
  const from = new Date(afterMs);
  const w = new Date(Date.UTC(from.getFullYear(), from.getMonth(), from.getDate(), from.getHours(), from.getMinutes() + 1));
  const limit = w.getTime() + MAX_DAYS * 86_400_000;
  while (w.getTime() <= limit) {
    if (!matcher.months.has(w.getUTCMonth() + 1)) {
      w.setUTCMonth(w.getUTCMonth() + 1, 1);
      w.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(matcher, w.getUTCDate(), w.getUTCDay())) {
      w.setUTCDate(w.getUTCDate() + 1);
      w.setUTCHours(0, 0, 0, 0);
    } else if (!matcher.hours.has(w.getUTCHours())) {
      w.setUTCHours(w.getUTCHours() + 1, 0, 0, 0);
    } else if (!matcher.minutes.has(w.getUTCMinutes())) {
      w.setUTCMinutes(w.getUTCMinutes() + 1, 0, 0);
    } else {
      const at = new Date(w.getUTCFullYear(), w.getUTCMonth(), w.getUTCDate(), w.getUTCHours(), w.getUTCMinutes()).getTime();
      if (at > afterMs) return at; // else the first pass of a repeated hour, already behind us
      w.setUTCMinutes(w.getUTCMinutes() + 1, 0, 0);
    }
  }
  return undefined;
}

function dayMatches(m: CronMatcher, day: number, weekday: number): boolean {
  return m.dayOr ? m.days.has(day) || m.weekdays.has(weekday) : m.days.has(day) && m.weekdays.has(weekday);
}

function compiledOrThrow(expr: unknown, field: string): { matcher: CronMatcher; text: string } {
  const compiled = compile(expr);
  if ('problem' in compiled) throw new WorkerAdminError('CONFIG_INVALID', `${field}: ${compiled.problem}`, { details: { field } });
  return compiled;
}

function compile(expr: unknown): Compiled {
  if (typeof expr !== 'string') return { problem: `must be a string, got ${describe(expr)}` };
  const text = expr.trim();
  const quoted = JSON.stringify(expr);
  if (text.length === 0) return { problem: 'cron expression is empty' };
  if (text.startsWith('@')) return { problem: `cron expression ${quoted}: macros like @daily are not supported, write the 5 fields` };
  const parts = text.split(/\s+/);
  if (parts.length === 6) return { problem: `cron expression ${quoted} has 6 fields: seconds are not supported, use 5 fields (minute hour day-of-month month day-of-week)` };
  if (parts.length !== 5) return { problem: `cron expression ${quoted} has ${parts.length} fields, expected 5 (minute hour day-of-month month day-of-week)` };
  const sets: Array<Set<number>> = [];
  for (let i = 0; i < FIELDS.length; i++) {
    const values = expandField(parts[i]!, FIELDS[i]!);
    if (typeof values === 'string') return { problem: `cron expression ${quoted}: ${FIELDS[i]!.name} field ${JSON.stringify(parts[i])} ${values}` };
    sets.push(values);
  }
  const [minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.delete(7)) weekdays.add(0);
  const matcher: CronMatcher = { minutes, hours, days, months, weekdays, dayOr: !parts[2]!.startsWith('*') && !parts[4]!.startsWith('*') };
  if (!matcher.dayOr && ![...months].some((m) => [...days].some((d) => d <= MONTH_DAYS[m - 1]!))) {
    return { problem: `cron expression ${quoted} never matches a date` };
  }
  return { matcher, text: parts.join(' ') };
}

// One field: a list of `*`, `N` or `A-B` (numbers or names), each with an optional `/STEP` (`N/STEP` runs to the maximum).
function expandField(part: string, field: CronField): Set<number> | string {
  // Names are stripped first: "wed" holds a W and "jul" an L that are not specials.
  const rest = (field.names ?? []).reduce((text, name) => text.replaceAll(name, ''), part.toLowerCase()).toUpperCase();
  for (const [char, label] of SPECIALS) {
    if (rest.includes(char)) return `uses ${label}, which is not supported`;
  }
  const out = new Set<number>();
  for (const item of part.split(',')) {
    if (item.length === 0) return 'has an empty list item';
    const [base, stepText, extra] = item.split('/') as [string, string | undefined, string | undefined];
    if (extra !== undefined) return `has more than one "/" in ${JSON.stringify(item)}`;
    if (stepText !== undefined && (!/^\d+$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > field.max)) {
      return `has a bad step ${JSON.stringify(stepText)}: it must be a whole number from 1 to ${field.max}`;
    }
    let from = field.min;
    let to = field.max;
    if (base !== '*') {
      const bounds = base.split('-');
      if (bounds.length > 2) return `has a bad range ${JSON.stringify(base)}`;
      const values: number[] = [];
      for (const bound of bounds) {
        const value = fieldValue(bound, field);
        if (value === undefined) {
          const names = field.names ? ` or a name (${field.names.join(', ')})` : '';
          return `has a bad value ${JSON.stringify(bound)}: it must be ${field.min}-${field.max}${names}`;
        }
        values.push(value);
      }
      if (values.length === 2 && values[0]! > values[1]!) return `has a reversed range ${JSON.stringify(base)}`;
      from = values[0]!;
      to = values[1] ?? (stepText === undefined ? from : field.max);
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function fieldValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  return index === -1 ? undefined : index + (field.nameBase ?? 0);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}
