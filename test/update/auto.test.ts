// Auto mode with the real scheduler on the system clock and a short interval: a version published to the running repository is
// picked up within two intervals; a failed one is not retried; an unreachable repository leaves the worker alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpdateStack, versionOf, type UpdateStack } from './harness.js';

const ID = 'tests-rolling-1';
const INTERVAL_MS = 700;
const AUTO = { type: 'tests', product: 'rolling', versions: ['1.0'], update: { mode: 'auto', interval: `${INTERVAL_MS}ms` } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('auto mode (real scheduler, system clock)', () => {
  let t: UpdateStack;
  const current = async (): Promise<{ version: string; pid: number; state: string }> => {
    const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Array<{ identifier: string; version: string; pid: number; state: string }> };
    return list.workers.find((w) => w.identifier === ID)!;
  };
  const count = (event: string, from: number) => t.events.slice(from).filter((e) => e.event === event).length;

  beforeAll(async () => {
    t = await startUpdateStack({ connectors: [AUTO], timeouts: { start: '5s' } });
    await t.admin.startConfiguredConnectors();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('checks quietly while nothing is new, and picks up a published version within two intervals', async () => {
    let from = t.events.length;
    await sleep(INTERVAL_MS * 2);
    expect(count('UPDATE_SKIPPED', from) + count('UPDATE_AVAILABLE', from)).toBe(0);
    await t.publish('1.1');
    from = t.events.length;
    // Two intervals, plus the time one check takes on a busy machine (a repository read).
    const available = await t.waitForEvent((e) => e === 'UPDATE_AVAILABLE', INTERVAL_MS * 2 + 1_000, from);
    expect(available).toMatchObject({ product: 'tests/rolling', from: '1.0', to: '1.1', trigger: 'auto' });
    await t.waitForEvent((e) => e === 'UPDATE_SUCCEEDED', 15_000, from);
    expect(versionOf(await t.send('ECHO', {}))).toBe('1.1');
  });

  it('a version that failed is not tried again until a newer one appears', async () => {
    const before = await current();
    let from = t.events.length;
    await t.publish('1.2', { worker: 'bad' });
    await t.waitForEvent((e, p) => e === 'UPDATE_FAILED' && p['to'] === '1.2', 15_000, from);
    await sleep(INTERVAL_MS * 3);
    expect(count('UPDATE_STARTED', from)).toBe(1);
    expect(await current()).toMatchObject({ version: '1.1', pid: before.pid, state: 'READY' });
    from = t.events.length;
    await t.publish('1.3');
    expect(await t.waitForEvent((e) => e === 'UPDATE_SUCCEEDED', 15_000, from)).toMatchObject({ from: '1.1', to: '1.3' });
  });

  it('an unreachable repository is retried at the next check; the running version keeps running', async () => {
    const before = await current();
    await t.repository.close();
    const from = t.events.length;
    await sleep(INTERVAL_MS * 3);
    expect(t.events.slice(from).filter((e) => e.event.startsWith('UPDATE_'))).toEqual([]);
    expect(await current()).toMatchObject({ version: '1.3', pid: before.pid, state: 'READY' });
    expect((await t.send('ECHO', { still: 'here' })).status).toBe('SUCCESS');
  });
});
