// Restart modes through the real admin and real worker processes: the admin's Instance carries out what its
// RestartPolicy decides. on-failure: exit 0 ends the instance (STOPPED), a crash restarts it (until 5 quick crashes:
// FAILED); never: any exit ends it with the code kept in lastExit; always: even exit 0 restarts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Event } from '../../src/proto/types.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

type Row = Record<string, unknown>;

async function row(t: TestStack, identifier: string): Promise<Row | undefined> {
  const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Row[] };
  return list.workers.find((w) => w['identifier'] === identifier);
}

const idOf = (e: Event): unknown => (JSON.parse(e.payload || '{}') as Row)['identifier'];

/** The lifecycle events of one instance, in order. */
function lifecycle(t: TestStack, identifier: string): string[] {
  return t.events.filter((e) => idOf(e) === identifier).map((e) => e.event);
}

/** Starts `product` as `identifier` (label `exit-N` makes run-once exit N) and waits for the event `until` of it. */
async function runUntil(t: TestStack, product: string, identifier: string, until: string, label?: string): Promise<Row> {
  const from = t.events.length;
  const started = await t.send('ADMIN_START_WORKER', { product, identifier, ...(label ? { params: { label } } : {}) });
  expect(started.status, started.error).toBe('SUCCESS');
  await t.waitForEvent((e, p) => e.event === until && p['identifier'] === identifier, 30_000, from);
  return (await row(t, identifier))!;
}

describe('restart: on-failure', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({
      connectors: [{ type: 'tests', product: 'run-once', restart: 'on-failure' }, { type: 'tests', product: 'crasher', restart: 'on-failure' }],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('exit 0 ends the instance: STOPPED, no restart, the code in lastExit', async () => {
    const done = await runUntil(t, 'tests/run-once', 'job-done', 'WORKER_STOPPED', 'exit-0');
    expect(done).toMatchObject({ state: 'STOPPED', restarts: 0, pid: null, lastExit: expect.objectContaining({ code: 0, signal: null }) });
    expect(lifecycle(t, 'job-done')).toEqual(['WORKER_STARTING', 'WORKER_READY', 'WORKER_EXITED', 'WORKER_STOPPED']);
  });

  it('a crash restarts it with backoff, and 5 quick crashes in a row give up: FAILED after 4 restarts', async () => {
    const failed = await runUntil(t, 'tests/crasher', 'job-crash', 'WORKER_FAILED');
    expect(failed).toMatchObject({ state: 'FAILED', restarts: 4, pid: null, lastExit: expect.objectContaining({ code: 3 }) });
    const events = lifecycle(t, 'job-crash');
    expect(events.filter((e) => e === 'WORKER_RESTARTING')).toHaveLength(4);
    expect(events.filter((e) => e === 'WORKER_READY')).toHaveLength(5);
    expect(events.at(-1)).toBe('WORKER_FAILED');
  });

  it('a non-zero exit restarts it, and the restarted process comes up READY', async () => {
    const from = t.events.length;
    const started = await t.send('ADMIN_START_WORKER', { product: 'tests/run-once', identifier: 'job-seven' });
    expect(started.status).toBe('SUCCESS');
    await t.waitForEvent((e, p) => e.event === 'WORKER_RESTARTING' && p['identifier'] === 'job-seven', 30_000, from);
    const restarting = t.events.findIndex((e, i) => i >= from && e.event === 'WORKER_RESTARTING' && idOf(e) === 'job-seven');
    await t.waitForEvent((e, p) => e.event === 'WORKER_READY' && p['identifier'] === 'job-seven', 30_000, restarting + 1);
    expect((await t.send('ADMIN_STOP_WORKER', { identifier: 'job-seven' })).status).toBe('SUCCESS');
    const stopped = (await row(t, 'job-seven'))!;
    expect(stopped['state']).toBe('STOPPED');
    expect(stopped['restarts']).toBeGreaterThanOrEqual(1);
  });
});

describe('restart: never', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({
      connectors: [{ type: 'tests', product: 'run-once', restart: 'never' }, { type: 'tests', product: 'crasher', restart: 'never' }],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('any exit ends the instance, keeping its code: 0, 7, and a crasher\'s 3', async () => {
    const zero = await runUntil(t, 'tests/run-once', 'once-0', 'WORKER_STOPPED', 'exit-0');
    const seven = await runUntil(t, 'tests/run-once', 'once-7', 'WORKER_STOPPED');
    const crash = await runUntil(t, 'tests/crasher', 'once-crash', 'WORKER_STOPPED');
    expect([zero, seven, crash].map((r) => [r['state'], r['restarts'], (r['lastExit'] as Row)['code']])).toEqual([['STOPPED', 0, 0], ['STOPPED', 0, 7], ['STOPPED', 0, 3]]);
    for (const id of ['once-0', 'once-7', 'once-crash']) expect(lifecycle(t, id)).not.toContain('WORKER_RESTARTING');
  });
});

describe('restart: always', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({ connectors: [{ type: 'tests', product: 'run-once', restart: 'always' }] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('even exit 0 restarts', async () => {
    const restarted = await runUntil(t, 'tests/run-once', 'always-0', 'WORKER_RESTARTING', 'exit-0');
    expect((restarted['lastExit'] as Row)['code']).toBe(0);
    expect((await t.send('ADMIN_STOP_WORKER', { identifier: 'always-0' })).status).toBe('SUCCESS');
  });
});
