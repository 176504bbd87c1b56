// 5-field cron expressions and `HH:MM` times, checked here so that node-schedule never sees a bad schedule.
import { WorkerAdminError } from '../common/errors.js';

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: DAYS },
];

// Quartz-style specials that cron-parser half-supports (or not at all): refused by name so the error is clear.
const SPECIALS: ReadonlyArray<[string, string]> = [
  ['L', '"L" (last day)'],
  ['W', '"W" (nearest weekday)'],
  ['#', '"#" (nth weekday)'],
  ['?', '"?" (no specific value)'],
];

/** Why a cron expression is not an accepted 5-field expression, or undefined when it is. */
export function cronProblem(expr: unknown): string | undefined {
  if (typeof expr !== 'string') return `must be a string, got ${describe(expr)}`;
  const text = expr.trim();
  if (text.length === 0) return 'cron expression is empty';
  if (text.startsWith('@')) return `cron expression ${JSON.stringify(expr)}: macros like @daily are not supported, write the 5 fields`;
  const parts = text.split(/\s+/);
  if (parts.length === 6) return `cron expression ${JSON.stringify(expr)} has 6 fields: seconds are not supported, use 5 fields (minute hour day-of-month month day-of-week)`;
  if (parts.length !== 5) return `cron expression ${JSON.stringify(expr)} has ${parts.length} fields, expected 5 (minute hour day-of-month month day-of-week)`;
  for (let i = 0; i < FIELDS.length; i++) {
    const problem = fieldProblem(parts[i]!, FIELDS[i]!);
    if (problem) return `cron expression ${JSON.stringify(expr)}: ${FIELDS[i]!.name} field ${JSON.stringify(parts[i])} ${problem}`;
  }
  return undefined;
}

function fieldProblem(part: string, field: CronField): string | undefined {
  // Names are stripped first: "wed" holds a W and "jul" an L that are not specials.
  const rest = (field.names ?? []).reduce((text, name) => text.replaceAll(name, ''), part.toLowerCase()).toUpperCase();
  for (const [char, label] of SPECIALS) {
    if (rest.includes(char)) return `uses ${label}, which is not supported`;
  }
  for (const item of part.split(',')) {
    const problem = itemProblem(item, field);
    if (problem) return problem;
  }
  return undefined;
}

function itemProblem(item: string, field: CronField): string | undefined {
  if (item.length === 0) return 'has an empty list item';
  const [base, step, extra] = item.split('/');
  if (extra !== undefined) return `has more than one "/" in ${JSON.stringify(item)}`;
  if (step !== undefined) {
    if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > field.max) {
      return `has a bad step ${JSON.stringify(step)}: it must be a whole number from 1 to ${field.max}`;
    }
  }
  if (base === '*') return undefined;
  const bounds = base!.split('-');
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
  return undefined;
}

function fieldValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (index === -1) return undefined;
  return field === FIELDS[3] ? index + 1 : index;
}

/** Checks a 5-field cron expression; throws CONFIG_INVALID naming `field`. Returns it with single spaces. */
export function validateCronExpression(expr: unknown, field: string): string {
  const problem = cronProblem(expr);
  if (problem) throw new WorkerAdminError('CONFIG_INVALID', `${field}: ${problem}`, { details: { field } });
  return (expr as string).trim().split(/\s+/).join(' ');
}

const HHMM_RE = /^(\d{1,2}):(\d{2})$/;

/** Why an `at` value is neither `HH:MM` (00:00–23:59) nor a 5-field cron expression, or undefined. */
export function updateAtProblem(at: unknown): string | undefined {
  if (typeof at !== 'string') return `must be "HH:MM" or a 5-field cron expression, got ${describe(at)}`;
  const match = HHMM_RE.exec(at.trim());
  if (match) {
    const hours = Number(match[1]);
    const minutes = Number(match[2]);
    if (hours > 23 || minutes > 59) return `time ${JSON.stringify(at)} is out of range: use 00:00 to 23:59`;
    return undefined;
  }
  if (/^\d+:\d+/.test(at.trim())) return `time ${JSON.stringify(at)} is invalid: use "HH:MM" from 00:00 to 23:59`;
  return cronProblem(at);
}

/** The 5-field cron string (local time, for node-schedule) of an `at`: `HH:MM` daily or a cron expression. */
export function parseUpdateAt(at: unknown, field: string): string {
  const problem = updateAtProblem(at);
  if (problem) throw new WorkerAdminError('CONFIG_INVALID', `${field}: ${problem}`, { details: { field } });
  const text = (at as string).trim();
  const match = HHMM_RE.exec(text);
  if (match) return `${Number(match[2])} ${Number(match[1])} * * *`;
  return text.split(/\s+/).join(' ');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}
