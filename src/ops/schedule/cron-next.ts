// When a 5-field cron expression (already validated by config/cron.ts) next matches, in local time.
import { validateCronExpression } from '../../config/cron.js';

/** The compiled expression: the allowed values of each field. */
interface CronMatcher {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Vixie cron: when both day fields are restricted, a day matching either one fires. */
  dayOr: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
// Five years of days: long enough for any real expression (Feb 29 on a Monday included), short enough to stop on Feb 30.
const MAX_DAYS = 5 * 366;

/** Compiles `expr`; throws CONFIG_INVALID naming `field` when it is not an accepted 5-field expression. */
export function compileCron(expr: string, field = 'schedule'): CronMatcher {
  const [minute, hour, day, month, weekday] = validateCronExpression(expr, field).split(' ') as [string, string, string, string, string];
  const weekdays = expand(weekday, 0, 7, DAYS, 0);
  if (weekdays.has(7)) weekdays.add(0);
  return {
    minutes: expand(minute, 0, 59), hours: expand(hour, 0, 23), days: expand(day, 1, 31),
    months: expand(month, 1, 12, MONTHS, 1), weekdays,
    dayOr: !day.startsWith('*') && !weekday.startsWith('*'),
  };
}

/** The first matching minute strictly after `afterMs` (epoch ms), or undefined when none comes within five years. */
export function nextCronTime(matcher: CronMatcher, afterMs: number): number | undefined {
  const t = new Date(afterMs);
  t.setSeconds(0, 0);
  t.setMinutes(t.getMinutes() + 1);
  const limit = afterMs + MAX_DAYS * 86_400_000;
  while (t.getTime() <= limit) {
    if (!matcher.months.has(t.getMonth() + 1)) {
      t.setMonth(t.getMonth() + 1, 1);
      t.setHours(0, 0, 0, 0);
    } else if (!dayMatches(matcher, t)) {
      t.setDate(t.getDate() + 1);
      t.setHours(0, 0, 0, 0);
    } else if (!matcher.hours.has(t.getHours())) {
      t.setHours(t.getHours() + 1, 0, 0, 0);
    } else if (!matcher.minutes.has(t.getMinutes())) {
      t.setMinutes(t.getMinutes() + 1, 0, 0);
    } else {
      return t.getTime();
    }
  }
  return undefined;
}

function dayMatches(m: CronMatcher, t: Date): boolean {
  const day = m.days.has(t.getDate());
  const weekday = m.weekdays.has(t.getDay());
  return m.dayOr ? day || weekday : day && weekday;
}

// One field: lists of `*`, `N`, `A-B`, each with an optional `/STEP` (`N/STEP` runs to the field's maximum).
function expand(field: string, min: number, max: number, names: readonly string[] = [], nameBase = 0): Set<number> {
  const value = (text: string): number => {
    const index = names.indexOf(text.toLowerCase());
    return index === -1 ? Number(text) : index + nameBase;
  };
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [base, stepText] = item.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let from = min;
    let to = max;
    if (base !== '*') {
      const [a, b] = base.split('-') as [string, string | undefined];
      from = value(a);
      to = b === undefined ? (stepText === undefined ? from : max) : value(b);
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}
