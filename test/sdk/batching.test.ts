// startWorker against a router written by hand on real gRPC (TCP port 0): it takes batches of commands, answers a
// batch in batches only to a router whose Welcome says so (a command that came alone, alone), one reply per command,
// and a drain waits for batched replies.
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningWorker } from '../../src/sdk/types.js';
import { startWorker } from '../../src/sdk/worker.js';
import { HandRouter, handCommand } from '../helpers/hand-router.js';

const command = handCommand;

let router: HandRouter | undefined;
let worker: RunningWorker | undefined;
const exits: number[] = [];

afterEach(async () => {
  if (worker?.state === 'READY') router?.call?.write({ drain: { reason: 'test over' } });
  await worker?.closed;
  router?.server.forceShutdown();
  [router, worker] = [undefined, undefined];
});

async function start(batching: boolean, eventBatches = false): Promise<HandRouter> {
  router = await new HandRouter(batching, eventBatches).start();
  const line = { identifier: 'w', target: router.address, token: 't'.repeat(48), type: 'test', product: 'batch', version: '1.0', config: {} };
  worker = await startWorker({
    commands: {
      ECHO: (payload) => payload,
      NOISY: (payload) => {
        void worker?.emit('HEARD', payload);
        return payload;
      },
      BIG: (payload) => ({ ...(payload as object), blob: 'x'.repeat(1_500_000) }),
      SLOW: async (payload) => {
        await new Promise((resolve) => setTimeout(resolve, (payload as { ms: number }).ms));
        return payload;
      },
    },
    stdin: Readable.from([`${JSON.stringify(line)}\n`]),
    exit: (code) => void exits.push(code),
    stderr: { write: () => true },
    signals: [],
  });
  return router;
}

describe('startWorker and batches', () => {
  it('says batching in its Hello; a batch of commands gets one reply each, in one message to a router that takes batches', async () => {
    const r = await start(true);
    expect(r.received[0]?.hello?.batching).toBe(true);
    const commands = Array.from({ length: 20 }, (_, i) => command(`u-${i}`, 'ECHO', { i }));
    r.call?.write({ commands: { commands } });
    await r.until(() => r.replies().length === 20);
    // the handlers finished in one turn: their replies left together
    expect(r.received.filter((m) => m.kind === 'replies' || m.kind === 'reply').map((m) => m.kind)).toEqual(['replies']);
    expect(r.replies().map((x) => [x.uuid, x.status, x.payload])).toEqual(commands.map((c) => [c.uuid, 'SUCCESS', c.payload]));
  });

  it('to a router that takes batches, a command that came alone is answered alone, after the events its handler emitted', async () => {
    const r = await start(true, true);
    // three single commands at once: a unary caller waits on each, so no reply waits for the others of its turn
    for (const i of [0, 1, 2]) r.call?.write({ command: command(`s-${i}`, 'ECHO', { i }) });
    await r.until(() => r.replies().length === 3);
    r.call?.write({ command: command('noisy', 'NOISY', { n: 1 }) });
    await r.until(() => r.replies().length === 4 && r.events().length === 1);
    expect(r.received.filter((m) => m.kind !== 'hello' && m.kind !== 'heartbeat').map((m) => m.kind)).toEqual(['reply', 'reply', 'reply', 'event', 'reply']);
    expect(r.replies().map((x) => x.uuid).sort()).toEqual(['noisy', 's-0', 's-1', 's-2']);
  });

  it('to a router whose Welcome does not say batching, one reply per message (batched commands still taken)', async () => {
    const r = await start(false);
    r.call?.write({ commands: { commands: Array.from({ length: 10 }, (_, i) => command(`u-${i}`, 'ECHO', { i })) } });
    r.call?.write({ command: command('single', 'ECHO', { single: true }) });
    await r.until(() => r.replies().length === 11);
    expect(r.received.filter((m) => m.kind !== 'hello' && m.kind !== 'heartbeat').every((m) => m.kind === 'reply')).toBe(true);
    expect(new Set(r.replies().map((x) => x.uuid)).size).toBe(11);
  });

  it('replies of one turn never pass 4 MiB together: big ones leave in several messages the router can read', async () => {
    const r = await start(true); // the hand router keeps gRPC's default 4 MiB receive limit
    r.call?.write({ commands: { commands: Array.from({ length: 5 }, (_, i) => command(`big-${i}`, 'BIG', { i })) } });
    await r.until(() => r.replies().length === 5);
    const messages = r.received.filter((m) => m.kind === 'replies' || m.kind === 'reply');
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.some((m) => m.kind === 'replies')).toBe(true);
    expect(r.replies().map((x) => [x.uuid, x.status, x.payload.length > 1_500_000])).toEqual(Array.from({ length: 5 }, (_, i) => [`big-${i}`, 'SUCCESS', true]));
  });

  it('events of one turn leave as one message, before the replies of that turn, to a router whose Welcome says event_batches', async () => {
    const r = await start(true, true);
    const commands = Array.from({ length: 12 }, (_, i) => command(`n-${i}`, 'NOISY', { i }));
    r.call?.write({ commands: { commands } });
    await r.until(() => r.replies().length === 12 && r.events().length === 12);
    expect(r.received.filter((m) => m.kind !== 'hello' && m.kind !== 'heartbeat').map((m) => m.kind)).toEqual(['events', 'replies']);
    expect(r.events().map((e) => [e.event, e.topic, e.payload])).toEqual(commands.map((c) => ['HEARD', 'test/batch', c.payload]));
  });

  it('to a router that does not say event_batches, one event per message (replies still batched)', async () => {
    const r = await start(true, false);
    r.call?.write({ commands: { commands: Array.from({ length: 6 }, (_, i) => command(`n-${i}`, 'NOISY', { i })) } });
    await r.until(() => r.replies().length === 6 && r.events().length === 6);
    expect(r.received.filter((m) => m.kind !== 'hello' && m.kind !== 'heartbeat').map((m) => m.kind)).toEqual([...Array.from({ length: 6 }, () => 'event'), 'replies']);
  });

  it('a drain right after a batch waits for every reply of it, then half-closes and exits 0', async () => {
    const r = await start(true);
    const commands = Array.from({ length: 8 }, (_, i) => command(`slow-${i}`, 'SLOW', { ms: 50 + 40 * i }));
    r.call?.write({ commands: { commands } });
    r.call?.write({ drain: { reason: 'rolling update' } });
    await r.until(() => r.halfClosed);
    expect(r.replies().map((x) => x.uuid).sort()).toEqual(commands.map((c) => c.uuid).sort());
    expect(await worker?.closed).toBe(0);
  });
});
