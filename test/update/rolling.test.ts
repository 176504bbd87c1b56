// ADMIN_UPDATE and ADMIN_ROLLBACK with real workers: skip, update, serialization, failure leaves the old untouched,
// in-flight commands finish on the old version, rollback, downgrade, parallel products.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../helpers/stack.js';
import { startUpdateStack, versionOf, type UpdateStack } from './harness.js';

const ID = 'tests-rolling-1';
type Worker = { identifier: string; version: string; state: string; pid: number };

describe('rolling update', () => {
  let t: UpdateStack;
  const worker = async (identifier = ID): Promise<Worker> => {
    const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Worker[] };
    return list.workers.find((w) => w.identifier === identifier)!;
  };
  const state = () => JSON.parse(readFileSync(join(t.stateDir, 'state.json'), 'utf8')) as Record<string, Record<string, unknown>>;

  beforeAll(async () => {
    t = await startUpdateStack({ timeouts: { start: '5s' } });
    const started = await t.send('ADMIN_START_WORKER', { product: 'tests/rolling', version: '1.0' });
    expect(started.status).toBe('SUCCESS');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds nothing newer: SUCCESS with to = from, no instance touched, UPDATE_SKIPPED', async () => {
    const before = await worker();
    const from = t.events.length;
    const reply = await t.send('ADMIN_UPDATE', { product: 'tests/rolling' });
    expect(reply).toMatchObject({ status: 'SUCCESS', data: { from: '1.0', to: '1.0', instances: [] } });
    const skipped = await t.waitForEvent((e) => e === 'UPDATE_SKIPPED', 5_000, from);
    expect(skipped).toMatchObject({ product: 'tests/rolling', version: '1.0', from: '1.0', to: '1.0' });
    expect(skipped['reason']).toMatch(/no version newer than 1\.0 in range >=1\.0\.0 <2\.0\.0/);
    expect((await worker()).pid).toBe(before.pid);
  });

  it('starts the new version beside the old, then drains and stops the old one', async () => {
    await t.publish('1.1');
    const old = await worker();
    const from = t.events.length;
    const reply = await t.send('ADMIN_UPDATE', { product: 'tests/rolling' });
    expect(reply).toMatchObject({ status: 'SUCCESS', data: { from: '1.0', to: '1.1', instances: [ID] } });
    const now = await worker();
    expect(now).toMatchObject({ version: '1.1', state: 'READY' });
    expect(now.pid).not.toBe(old.pid);
    expect(alive(old.pid)).toBe(false);
    const names = t.events.slice(from).map((e) => e.event).filter((e) => e.startsWith('UPDATE_'));
    expect(names).toEqual(['UPDATE_AVAILABLE', 'UPDATE_STARTED', 'UPDATE_SUCCEEDED']);
    // One rule for every UPDATE_* payload: `version` is the target, `from` and `to` always present.
    for (const e of t.events.slice(from).filter((e) => e.event.startsWith('UPDATE_'))) {
      expect(e.payload, e.event).toMatchObject({ product: 'tests/rolling', version: '1.1', from: '1.0', to: '1.1' });
    }
    expect(t.events.slice(from).find((e) => e.event === 'UPDATE_SUCCEEDED')!.payload).toMatchObject({ identifier: ID, product: 'tests/rolling', version: '1.1', from: '1.0', to: '1.1' });
    // Each process's lifecycle, by version: the new one starts and is READY before the old one drains and stops.
    const lifecycle = t.events.slice(from).filter((e) => e.event.startsWith('WORKER_')).map((e) => `${e.event}@${String(e.payload['version'])}`);
    expect(lifecycle).toEqual(['WORKER_STARTING@1.1', 'WORKER_READY@1.1', 'WORKER_DRAINING@1.0', 'WORKER_STOPPED@1.0']);
    expect(versionOf(await t.send('ECHO', { n: 1 }))).toBe('1.1');
    expect(state()['previousVersions']).toEqual({ 'tests/rolling': '1.0' });
  });

  it('lets commands in flight on the old version finish there', async () => {
    await t.publish('1.2');
    const slow = Promise.all([1, 2, 3].map(() => t.send('SLOW', { ms: 1500 })));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const reply = await t.send('ADMIN_UPDATE', { product: 'tests/rolling', version: '1.2' });
    expect(reply).toMatchObject({ status: 'SUCCESS', data: { from: '1.1', to: '1.2' } });
    for (const r of await slow) expect(r).toMatchObject({ status: 'SUCCESS', worker: `${ID}@1.1`, data: { slept: 1500 } });
  });

  it('serializes two updates of one product: the second waits, then finds nothing to do', async () => {
    await t.publish('1.3');
    const [a, b] = await Promise.all([t.send('ADMIN_UPDATE', { product: 'tests/rolling' }), t.send('ADMIN_UPDATE', { product: 'tests/rolling' })]);
    const results = [a.data, b.data] as Array<{ from: string; to: string; instances: string[] }>;
    expect(results).toContainEqual({ from: '1.2', to: '1.3', instances: [ID] });
    expect(results).toContainEqual({ from: '1.3', to: '1.3', instances: [] });
  });

  it('a new version that does not become READY is stopped; the old keeps its pid, READY, and the reply names the reason', async () => {
    await t.publish('1.4', { worker: 'bad' });
    const old = await worker();
    const from = t.events.length;
    const reply = await t.send('ADMIN_UPDATE', { product: 'tests/rolling' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^COMMANDS_MISSING: SLOW \(update of tests\/rolling 1\.3 → 1\.4 on tests-rolling-1 rolled back: 1\.3 keeps serving\)$/);
    expect(await worker()).toMatchObject({ version: '1.3', state: 'READY', pid: old.pid });
    const failed = await t.waitForEvent((e) => e === 'UPDATE_FAILED', 5_000, from);
    expect(failed).toMatchObject({ identifier: ID, product: 'tests/rolling', version: '1.4', from: '1.3', to: '1.4', reason: 'COMMANDS_MISSING: SLOW', rolledBack: true });
    expect(t.events.slice(from).some((e) => e.event === 'UPDATE_SUCCEEDED')).toBe(false);
    expect(t.events.slice(from).find((e) => e.event === 'WORKER_INVALID')?.payload).toMatchObject({ identifier: ID, version: '1.4', reason: 'COMMANDS_MISSING: SLOW' });
    expect(t.events.slice(from).some((e) => e.event === 'WORKER_DRAINING')).toBe(false);
    expect(versionOf(await t.send('ECHO', {}))).toBe('1.3');
    const workers = await t.rpc.listWorkers();
    expect(workers.workers.filter((w) => w.identifier === ID).map((w) => w.version)).toEqual(['1.3']);
  });

  it('ADMIN_ROLLBACK goes back to the previous version and sets the mode to manual', async () => {
    await t.send('ADMIN_SET_UPDATE_MODE', { product: 'tests/rolling', mode: 'auto', interval: '1h' });
    const reply = await t.send('ADMIN_ROLLBACK', { product: 'tests/rolling' });
    expect(reply).toMatchObject({ status: 'SUCCESS', data: { from: '1.3', to: '1.2', instances: [ID] } });
    expect((await worker()).version).toBe('1.2');
    expect(state()['updateModes']).toEqual({ 'tests/rolling': { mode: 'manual', intervalMs: 3_600_000 } });
    expect(state()['previousVersions']).toEqual({ 'tests/rolling': '1.3' });
  });

  it('an explicit older version is a downgrade; an unlisted one is refused', async () => {
    expect(await t.send('ADMIN_UPDATE', { product: 'tests/rolling', version: '1.0' })).toMatchObject({ status: 'SUCCESS', data: { from: '1.2', to: '1.0' } });
    const missing = await t.send('ADMIN_UPDATE', { product: 'tests/rolling', version: '1.9' });
    expect(missing.status).toBe('FAIL');
    expect(missing.error).toMatch(/tests\/rolling: no version matches "1\.9"/);
    expect((await t.send('ADMIN_UPDATE', { product: 'tests/rolling', version: 'one' })).status).toBe('INVALID');
    const none = await t.send('ADMIN_UPDATE', { product: 'tests/nothing' });
    expect(none).toMatchObject({ status: 'FAIL', error: 'tests/nothing: no READY instance to update (start one with ADMIN_START_WORKER)' });
  });
});
