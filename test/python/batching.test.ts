// The Python SDK and batches, in a real Python process against a router written by hand on real gRPC: it says
// batching in its Hello, takes batched commands, answers in batches only to a router whose Welcome says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.js';
import { HandRouter, handCommand } from '../helpers/hand-router.js';
import { ROOT } from '../helpers/stack.js';
import { PY_FIXTURES, PYTHON, SKIP_REASON } from './harness.js';

const WORKER = join(PY_FIXTURES, 'tests/pyecho/1/0/worker/worker.py');

let router: HandRouter | undefined;
let child: ChildProcess | undefined;
let exited: Promise<number | null> | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await exited;
  router?.server.forceShutdown();
  [router, child, exited] = [undefined, undefined, undefined];
});

/** Starts the test worker against a hand router; resolves once it said Hello. */
async function start(batching: boolean, eventBatches = false): Promise<HandRouter> {
  router = await new HandRouter(batching, eventBatches).start();
  const r = router;
  const line = { identifier: 'py-batch', target: r.address, token: 't'.repeat(48), type: 'tests', product: 'pyecho', version: '1.0', config: {} };
  child = spawn(PYTHON as string, [WORKER], { env: testEnv({ PYTHONPATH: join(ROOT, 'sdk/python') }), stdio: ['pipe', 'ignore', 'pipe'] });
  const proc = child;
  exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  proc.stdin?.end(`${JSON.stringify(line)}\n`);
  await r.until(() => r.received.length > 0);
  return r;
}

const replyMessages = (r: HandRouter): string[] => r.received.map((m) => m.kind).filter((k) => k === 'reply' || k === 'replies');
const eventMessages = (r: HandRouter): string[] => r.received.map((m) => m.kind).filter((k) => k === 'event' || k === 'events');

/** Index of the received message that carries the reply to `uuid`, and of the one that carries the event it emitted. */
function positions(r: HandRouter, uuid: string): { reply: number; event: number } {
  const has = (list: Array<{ uuid?: string; reference_uuid?: string }> | undefined, key: 'uuid' | 'reference_uuid'): boolean => (list ?? []).some((x) => x[key] === uuid);
  return {
    reply: r.received.findIndex((m) => (m.kind === 'reply' && m.reply?.uuid === uuid) || (m.kind === 'replies' && has(m.replies?.replies, 'uuid'))),
    event: r.received.findIndex((m) => (m.kind === 'event' && m.event?.reference_uuid === uuid) || (m.kind === 'events' && has(m.events?.events, 'reference_uuid'))),
  };
}

/** Sends `n` PY_EMIT commands in one batch; resolves with them once every reply and every event came. */
async function emitAll(r: HandRouter, n: number): Promise<ReturnType<typeof handCommand>[]> {
  const commands = Array.from({ length: n }, (_, i) => handCommand(`e-${i}`, 'PY_EMIT', { i }));
  r.call?.write({ commands: { commands } });
  await r.until(() => r.replies().length === n && r.events().length === n);
  return commands;
}

/** Asks the worker to drain; it must exit 0. */
async function drained(r: HandRouter): Promise<void> {
  r.call?.write({ drain: { reason: 'test over' } });
  expect(await exited).toBe(0);
}

describe.skipIf(!PYTHON)(`Python SDK and batches${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, () => {
  it('says batching in its Hello; a batch of 40 commands gets 40 replies, several per message', async () => {
    const r = await start(true);
    expect(r.received[0]?.hello).toMatchObject({ identifier: 'py-batch', batching: true });
    const commands = Array.from({ length: 40 }, (_, i) => handCommand(`u-${i}`, 'PY_ECHO', { i }));
    r.call?.write({ commands: { commands } });
    await r.until(() => r.replies().length === 40);
    const byUuid = new Map(r.replies().map((x) => [x.uuid, x]));
    for (const c of commands) expect(byUuid.get(c.uuid)).toMatchObject({ status: 'SUCCESS', payload: c.payload });
    // replies that wait while the writer sends the previous message leave together
    expect(replyMessages(r)).toContain('replies');
    expect(replyMessages(r).length).toBeLessThan(40);
    await drained(r);
  }, 30_000);

  it('to a router whose Welcome does not say batching: one reply per message', async () => {
    const r = await start(false);
    r.call?.write({ commands: { commands: Array.from({ length: 20 }, (_, i) => handCommand(`u-${i}`, 'PY_ECHO', { i })) } });
    await r.until(() => r.replies().length === 20);
    expect(replyMessages(r)).toEqual(Array.from({ length: 20 }, () => 'reply'));
    await drained(r);
  }, 30_000);

  it('to a router whose Welcome says event_batches: events emitted together leave together, each before its reply', async () => {
    const r = await start(true, true);
    const commands = await emitAll(r, 12);
    expect(eventMessages(r)).toContain('events');
    expect(eventMessages(r).length).toBeLessThan(12);
    for (const c of commands) {
      expect(r.events().find((e) => e.reference_uuid === c.uuid)).toMatchObject({ event: 'PY_EVENT', topic: 'tests/pyecho', payload: c.payload });
      const at = positions(r, c.uuid);
      expect(at.event).toBeGreaterThan(0);
      expect(at.event).toBeLessThan(at.reply);
    }
    await drained(r);
  }, 30_000);

  it('to a router that does not say event_batches: one event per message, each before its reply', async () => {
    const r = await start(true, false);
    const commands = await emitAll(r, 8);
    expect(eventMessages(r)).toEqual(Array.from({ length: 8 }, () => 'event'));
    for (const c of commands) {
      const at = positions(r, c.uuid);
      expect(at.event).toBeLessThan(at.reply);
    }
    await drained(r);
  }, 30_000);
});
