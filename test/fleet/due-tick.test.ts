// Which schedule time of a policy may still be written (docs/fleet.md, policies): the latest one within the grace,
// never one before the policy was registered, and the stored records read back.
import { describe, expect, it } from 'vitest';
import { compileCron } from '../../src/common/cron.js';
import { dueTick, parseRegistration, parseTick, tickOf } from '../../src/fleet/policies/tick.js';

const at = (h: number, m: number, s = 0): number => new Date(2030, 0, 1, h, m, s).getTime();
const every5 = compileCron('*/5 * * * *');
const everyMinute = compileCron('* * * * *');

describe('dueTick', () => {
  it('is the schedule time itself when the scheduler wakes on it', () => {
    expect(dueTick(every5, at(0, 5), at(0, 5) - 6000)).toBe(at(0, 5));
  });

  it('a late wake-up within the grace still gives that time; past it, none (not made up)', () => {
    expect(dueTick(every5, at(0, 5, 4), at(0, 5, 4) - 6000)).toBe(at(0, 5));
    expect(dueTick(every5, at(0, 5, 7), at(0, 5, 7) - 6000)).toBeUndefined();
    expect(dueTick(every5, at(0, 9, 59), at(0, 9, 59) - 6000)).toBeUndefined();
  });

  it('several times within the grace: the latest one only', () => {
    expect(dueTick(everyMinute, at(0, 3, 30), at(0, 0, 30))).toBe(at(0, 3));
  });

  it('no time before the lower bound (a policy registered after it)', () => {
    expect(dueTick(every5, at(0, 5, 2), at(0, 5, 1))).toBeUndefined();
    expect(dueTick(every5, at(0, 5, 2), at(0, 5))).toBe(at(0, 5));
  });
});

describe('stored policy records', () => {
  it('a tick has uuid {policy}-{tick ms} and reads back as written', () => {
    const tick = tickOf('nightly', at(0, 5), at(0, 5, 1));
    expect(tick).toEqual({ tick: at(0, 5), uuid: `nightly-${at(0, 5)}`, at: at(0, 5, 1) });
    expect(parseTick(JSON.stringify(tick))).toEqual(tick);
    expect(parseTick('{"tick":"soon"}')).toBeUndefined();
    expect(parseTick('not json')).toBeUndefined();
  });

  it('a registration reads back; a one-shot policy has no schedule', () => {
    const text = JSON.stringify({ host: 'host-a', incarnation: '1f', package: 'utils/echo@^1', schedule: null, command: 'RUN', dryRun: false, since: 5 });
    expect(parseRegistration(text)).toEqual({ host: 'host-a', incarnation: '1f', package: 'utils/echo@^1', schedule: null, command: 'RUN', dryRun: false, since: 5 });
    expect(parseRegistration('{"host":1}')).toBeUndefined();
  });
});
