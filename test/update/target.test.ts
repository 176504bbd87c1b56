// Pure parts of the updater: target choice (range, downgrade, skipped versions) and the per-product lock.
import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/admin/update/lock.js';
import { chooseTarget } from '../../src/admin/update/target.js';

const versions = ['0.9', '1.0', '1.1', '1.10', '1.2', '2.0'].map((version) => ({ version }));
const base = { product: 'tests/x', versions };

describe('chooseTarget', () => {
  it('goes to the newest version within the running major by default (1.10 above 1.2; 2.0 not taken)', () => {
    expect(chooseTarget({ ...base, from: '1.0' })).toEqual({ kind: 'update', to: '1.10' });
    expect(chooseTarget({ ...base, from: '0.9' })).toEqual({ kind: 'none', reason: 'no version newer than 0.9 in range >=0.0.0 <1.0.0' });
  });

  it('follows the connector range, and never goes down without an explicit version', () => {
    expect(chooseTarget({ ...base, from: '1.0', range: '>=1.0.0' })).toEqual({ kind: 'update', to: '2.0' });
    expect(chooseTarget({ ...base, from: '1.10', range: '~1.1' })).toMatchObject({ kind: 'none' });
  });

  it('takes an explicit version as given: older is a downgrade, the same one is nothing to do, unlisted is refused', () => {
    expect(chooseTarget({ ...base, from: '1.2', version: '0.9' })).toEqual({ kind: 'update', to: '0.9' });
    expect(chooseTarget({ ...base, from: '1.2', version: '1.2' })).toEqual({ kind: 'none', reason: 'tests/x already runs 1.2' });
    expect(() => chooseTarget({ ...base, from: '1.2', version: '1.3' })).toThrow(/no version matches "1\.3"/);
    expect(() => chooseTarget({ ...base, from: '1.2', version: '^1' })).toThrow(/must be "major.minor"/);
  });

  it('skips versions that failed, falling back to the newest that did not, until a newer one appears', () => {
    const skip = new Set(['1.10']);
    expect(chooseTarget({ ...base, from: '1.0', skip })).toEqual({ kind: 'update', to: '1.2' });
    expect(chooseTarget({ ...base, from: '1.2', skip })).toEqual({ kind: 'none', reason: 'no version newer than 1.2 in range >=1.0.0 <2.0.0 (skipping 1.10: failed before)' });
    expect(chooseTarget({ ...base, versions: [...versions, { version: '1.11' }], from: '1.2', skip })).toEqual({ kind: 'update', to: '1.11' });
  });
});

describe('KeyedLock', () => {
  it('runs tasks of one key one after the other, in order, and other keys alongside', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`${name}-`);
      return name;
    };
    const results = await Promise.all([lock.run('a', task('a1', 40)), lock.run('a', task('a2', 5)), lock.run('b', task('b1', 10))]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(log.indexOf('a2+')).toBeGreaterThan(log.indexOf('a1-'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(lock.busy('a')).toBe(false);
  });

  it('a failing task does not block the next one', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('a', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(lock.run('a', async () => 'next')).resolves.toBe('next');
    await lock.idle();
  });
});
