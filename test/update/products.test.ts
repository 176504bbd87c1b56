// Updates across products and instances: two products update in parallel (the lock is per product), and a failure on
// a later instance of a product puts back the instances this update had already moved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpdateStack, type UpdateStack } from './harness.js';

const ID = 'tests-rolling-1';
type Worker = { identifier: string; version: string; state: string; pid: number };

describe('updates across products and instances', () => {
  let t: UpdateStack;
  const worker = async (identifier: string): Promise<Worker> => {
    const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Worker[] };
    return list.workers.find((w) => w.identifier === identifier)!;
  };

  beforeAll(async () => {
    t = await startUpdateStack({ timeouts: { start: '5s' } });
    expect((await t.send('ADMIN_START_WORKER', { product: 'tests/rolling', version: '1.0' })).status).toBe('SUCCESS');
    await t.publish('1.1');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('updates two products in parallel', async () => {
    await t.publish('1.0', { product: 'other' });
    await t.send('ADMIN_START_WORKER', { product: 'tests/other', version: '1.0' });
    await t.publish('1.1', { product: 'other' });
    const from = t.events.length;
    const [a, b] = await Promise.all([
      t.send('ADMIN_UPDATE', { product: 'tests/rolling' }),
      t.send('ADMIN_UPDATE', { product: 'tests/other' }),
    ]);
    expect(a.data).toEqual({ from: '1.0', to: '1.1', instances: [ID] });
    expect(b.data).toEqual({ from: '1.0', to: '1.1', instances: ['tests-other-1'] });
    // Both started before either finished: the per-product lock did not serialize them.
    const names = t.events.slice(from).map((e) => `${e.event} ${String(e.payload['product'])}`).filter((n) => /UPDATE_(STARTED|SUCCEEDED)/.test(n));
    expect(names.slice(0, 2).sort()).toEqual(['UPDATE_STARTED tests/other', 'UPDATE_STARTED tests/rolling']);
  });

  it('a failure on a later instance puts the instances already moved back: the product is never left half updated', async () => {
    await t.publish('1.0', { product: 'picky' });
    const a = await t.send('ADMIN_START_WORKER', { product: 'tests/picky', version: '1.0', identifier: 'pick-a' });
    const b = await t.send('ADMIN_START_WORKER', { product: 'tests/picky', version: '1.0', identifier: 'pick-b', params: { label: 'picky' } });
    expect([a.status, b.status]).toEqual(['SUCCESS', 'SUCCESS']);
    await t.publish('1.1', { product: 'picky', worker: 'picky' });
    const from = t.events.length;
    const reply = await t.send('ADMIN_UPDATE', { product: 'tests/picky' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^COMMANDS_MISSING: SLOW \(update of tests\/picky 1\.0 → 1\.1 on pick-b rolled back/);
    expect(await worker('pick-a')).toMatchObject({ version: '1.0', state: 'READY' });
    expect(await worker('pick-b')).toMatchObject({ version: '1.0', state: 'READY', pid: (b.data as { pid: number }).pid });
    const updates = t.events.slice(from).filter((e) => e.event.startsWith('UPDATE_')).map((e) => [e.event, e.payload['identifier'], e.payload['rolledBack']]);
    expect(updates).toEqual([
      ['UPDATE_AVAILABLE', undefined, undefined],
      ['UPDATE_STARTED', 'pick-a', undefined], ['UPDATE_SUCCEEDED', 'pick-a', undefined],
      ['UPDATE_STARTED', 'pick-b', undefined], ['UPDATE_FAILED', 'pick-b', true],
      ['UPDATE_FAILED', 'pick-a', true],
    ]);
    expect(t.events.slice(from).at(-1)!.payload['reason']).toBe('rolled back with the product: COMMANDS_MISSING: SLOW');
  });

  it('an explicit version moves every instance not on it, even when the highest one already is', async () => {
    await t.send('ADMIN_STOP_WORKER', { identifier: 'pick-b' });
    expect((await t.send('ADMIN_START_WORKER', { product: 'tests/picky', version: '1.1', identifier: 'pick-c' })).status).toBe('SUCCESS');
    const reply = await t.send('ADMIN_UPDATE', { product: 'tests/picky', version: '1.1' });
    expect(reply).toMatchObject({ status: 'SUCCESS', data: { from: '1.1', to: '1.1', instances: ['pick-a'] } });
    expect(await worker('pick-a')).toMatchObject({ version: '1.1', state: 'READY' });
    const again = await t.send('ADMIN_UPDATE', { product: 'tests/picky', version: '1.1' });
    expect(again.data).toEqual({ from: '1.1', to: '1.1', instances: [] });
  });
});
