import { scheduleJob } from 'node-schedule';
import { describe, expect, it } from 'vitest';
import { parseUpdateAt, validateCronExpression } from '../../src/config/cron.js';

describe('validateCronExpression', () => {
  const accepted = ['* * * * *', '*/5 * * * *', '0 3 * * *', '0 3 * * mon-fri', '15,45 8-18/2 1 jan,jul 0', '0 0 1-31/10 * 7', '5/15 * * * *', '  0   3 * * *  '];
  it.each(accepted)('accepts %j, and node-schedule accepts it too', (expr) => {
    const normalized = validateCronExpression(expr, 'update.at');
    expect(normalized.split(' ')).toHaveLength(5);
    const job = scheduleJob(normalized, () => undefined);
    expect(job).not.toBeNull();
    job?.cancel();
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
  ];
  it.each(refused)('refuses %j naming the field', (expr, reason) => {
    expect(() => validateCronExpression(expr, 'connectors[0].update.at')).toThrowError(reason);
    expect(() => validateCronExpression(expr, 'connectors[0].update.at')).toThrowError(/^connectors\[0\]\.update\.at: /);
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

  it.each(['24:00', '12:60', '99:99', '1:2', '3pm'])('refuses %j', (at) => {
    expect(() => parseUpdateAt(at, 'connectors[1].update.at')).toThrowError(/connectors\[1\]\.update\.at/);
  });

  it('refuses a non-string with its type', () => {
    expect(() => parseUpdateAt(300, 'at')).toThrowError(/got number 300/);
  });
});
