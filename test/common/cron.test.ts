// The one cron implementation: what it accepts and refuses (naming the field), `HH:MM` daily, and next times checked
// against node-schedule's (cron-parser's) for the same expressions, in several time zones, across DST changes.
import schedule from 'node-schedule';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCron, cronProblem, nextCronTime, parseUpdateAt, validateCronExpression } from '../../src/common/cron.js';

const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => new Date(y, mo - 1, d, h, mi, s).getTime();
const next = (expr: string, from: number): string | undefined => {
  const t = nextCronTime(compileCron(expr), from);
  return t === undefined ? undefined : new Date(t).toString();
};
const local = (ms: number): string => new Date(ms).toString();

describe('validateCronExpression', () => {
  const accepted = ['* * * * *', '*/5 * * * *', '0 3 * * *', '0 3 * * mon-fri', '15,45 8-18/2 1 jan,jul 0', '0 0 1-31/10 * 7', '5/15 * * * *', '  0   3 * * *  '];
  it.each(accepted)('accepts %j with single spaces', (expr) => {
    expect(validateCronExpression(expr, 'update.at')).toBe(expr.trim().split(/\s+/).join(' '));
  });

  const refused: Array<[string, RegExp]> = [
    ['0 0 3 * * *', /6 fields: seconds are not supported/],
    ['* * * *', /4 fields, expected 5/],
    ['0 0 L * *', /"L" \(last day\)/],
    ['0 0 15W * *', /"W" \(nearest weekday\)/],
    ['0 0 * * 1#2', /"#" \(nth weekday\)/],
    ['0 0 ? * *', /"\?" \(no specific value\)/],
    ['0 0 * * 5L', /"L"/],
    ['60 * * * *', /minute field "60" has a bad value/],
    ['* 24 * * *', /hour field "24"/],
    ['* * 0 * *', /day of month field "0"/],
    ['* * * 13 *', /month field "13"/],
    ['* * * * 8', /day of week field "8"/],
    ['* * * foo *', /month field "foo"/],
    ['*/0 * * * *', /bad step "0"/],
    ['5-1 * * * *', /reversed range/],
    ['1,,2 * * * *', /empty list item/],
    ['@daily', /macros like @daily/],
    ['', /empty/],
    ['0 0 30 2 *', /cron expression "0 0 30 2 \*" never matches a date/],
    ['0 0 31 apr,jun,sep,nov *', /never matches a date/],
  ];
  it.each(refused)('refuses %j naming the field', (expr, reason) => {
    expect(() => validateCronExpression(expr, 'connectors[0].update.at')).toThrowError(reason);
    expect(() => validateCronExpression(expr, 'connectors[0].update.at')).toThrowError(/^connectors\[0\]\.update\.at: /);
    expect(cronProblem(expr)).toMatch(reason);
  });

  it('does not take day names holding W or L for specials', () => {
    expect(validateCronExpression('0 0 * jul wed', 'at')).toBe('0 0 * jul wed');
  });
});

describe('parseUpdateAt', () => {
  it('turns HH:MM into a daily cron expression in local time', () => {
    expect(parseUpdateAt('03:00', 'at')).toBe('0 3 * * *');
    expect(parseUpdateAt('23:59', 'at')).toBe('59 23 * * *');
    expect(parseUpdateAt('00:00', 'at')).toBe('0 0 * * *');
    expect(parseUpdateAt('7:05', 'at')).toBe('5 7 * * *');
  });

  it('passes a valid cron expression through', () => {
    expect(parseUpdateAt('30 2 * * sun', 'at')).toBe('30 2 * * sun');
  });

  it.each(['24:00', '12:60', '99:99', '1:2', '3pm', '0 0 30 2 *'])('refuses %j', (value) => {
    expect(() => parseUpdateAt(value, 'connectors[1].update.at')).toThrowError(/connectors\[1\]\.update\.at/);
  });

  it('refuses a non-string with its type', () => {
    expect(() => parseUpdateAt(300, 'at')).toThrowError(/got number 300/);
  });
});

describe('nextCronTime', () => {
  it('steps, lists and ranges, strictly after the given time', () => {
    expect(next('*/5 * * * *', at(2030, 1, 1, 0, 0))).toBe(local(at(2030, 1, 1, 0, 5)));
    expect(next('*/5 * * * *', at(2030, 1, 1, 0, 3) + 59_000)).toBe(local(at(2030, 1, 1, 0, 5)));
    expect(next('0,30 9-17 * * *', at(2030, 1, 1, 17, 30))).toBe(local(at(2030, 1, 2, 9, 0)));
    expect(next('15 3 * * *', at(2030, 1, 1, 3, 15))).toBe(local(at(2030, 1, 2, 3, 15)));
    expect(next('10/20 * * * *', at(2030, 1, 1, 0, 31))).toBe(local(at(2030, 1, 1, 0, 50)));
  });

  it('month and weekday names, Sunday as 0 or 7', () => {
    // 2030-01-01 is a Tuesday.
    expect(next('0 12 * * mon', at(2030, 1, 1))).toBe(local(at(2030, 1, 7, 12)));
    expect(next('0 0 * * 7', at(2030, 1, 1))).toBe(local(at(2030, 1, 6)));
    expect(next('0 0 1 mar *', at(2030, 1, 1))).toBe(local(at(2030, 3, 1)));
  });

  it('day of month OR day of week when both are restricted (crontab(5)), AND when one starts with *', () => {
    expect(next('0 0 13 * fri', at(2030, 1, 1))).toBe(local(at(2030, 1, 4))); // Friday the 4th comes before the 13th
    expect(next('0 0 */10 * *', at(2030, 1, 1))).toBe(local(at(2030, 1, 11)));
    // A step over * still reads as *: Mondays that are the 1st, 11th, 21st or 31st (node-schedule reads OR here).
    expect(next('0 0 */10 * 1', at(2030, 1, 1))).toBe(local(at(2030, 1, 21)));
  });

  it('leap days', () => {
    expect(next('0 0 29 2 *', at(2030, 1, 1))).toBe(local(at(2032, 2, 29)));
  });
});

describe('same next times as node-schedule', () => {
  const zone = process.env['TZ'];
  afterEach(() => {
    if (zone === undefined) delete process.env['TZ'];
    else process.env['TZ'] = zone;
  });

  // 5-field expressions and the `HH:MM` forms of planned updates; the starts include spring-forward and fall-back days.
  const expressions = [
    '*/5 * * * *', '*/15 * * * *', '0 3 * * *', '30 4 * * 1', '0 0 1 jan,jul *', '15,45 8-18/2 * * mon-fri', '0 12 13 * fri',
    '0 0 29 2 *', '5/15 * * * *', '0 0 * * 7', '59 23 31 12 *', '59 1 * * 0', '0 0 13 * 0-6',
    parseUpdateAt('00:00', 'at'), parseUpdateAt('02:30', 'at'), parseUpdateAt('01:30', 'at'), parseUpdateAt('07:05', 'at'),
  ];
  const starts = (): number[] => [
    at(2030, 1, 1, 0, 0, 30), at(2030, 2, 28, 23, 59, 30), at(2031, 12, 31, 12), at(2030, 1, 1, 3), at(2030, 3, 30, 12, 0, 30),
    at(2030, 3, 31, 1, 50), at(2030, 10, 27, 1, 50), at(2030, 10, 26, 12), at(2030, 3, 10, 1, 50), at(2030, 11, 3, 0, 30),
  ];

  it.each(['UTC', 'Europe/Paris', 'America/New_York', 'Australia/Lord_Howe'])('in %s', (tz) => {
    process.env['TZ'] = tz;
    const differences: string[] = [];
    for (const expression of expressions) {
      for (const start of starts()) {
        // node-schedule computes from `start` when it lies in the future; the job is cancelled before it could fire.
        const job = schedule.scheduleJob({ start: new Date(start), rule: expression }, () => undefined);
        const theirs = job.nextInvocation()!.getTime();
        job.cancel();
        const ours = nextCronTime(compileCron(expression), start);
        if (ours !== theirs) differences.push(`${expression} after ${local(start)}: ours ${ours === undefined ? 'none' : local(ours)}, node-schedule ${local(theirs)}`);
      }
    }
    expect(differences).toEqual([]);
  });
});
