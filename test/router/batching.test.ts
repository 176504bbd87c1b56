// Batches on the Connect stream, through a real router with raw gRPC workers: several commands per message only to a
// worker whose Hello says so, several replies per message from any worker, each command still answered once.
import { PassThrough, Writable } from 'node:stream';
import { credentials, type Client } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { routerClientConstructor } from '../../src/proto/load.js';
import type { Command, Reply } from '../../src/proto/types.js';
import { ConnectWriter } from '../../src/router/connect-writer.js';
import type { RouterMessageOut } from '../../src/router/connection.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { connectWorker, expectWorker, RawCommandStream, RawWorker, routerClient, sendCommand, untilListed, Watcher } from './raw.js';

let r: TestRouter;
let client: Client;

beforeEach(async () => {
  r = await startTestRouter({ transport: 'tcp' });
  client = routerClient(r.address);
});
afterEach(async () => {
  client.close();
  await r.close();
});

/**
 * Announces worker `w` (so ECHO is known) and sends `n` ECHO commands before it connects; resolves once the router holds
 * them all in its queue, with the one-time token.
 */
async function queueCommands(n: number, payload: (i: number) => string = (i) => JSON.stringify({ i })): Promise<{ token: string; replies: Array<Promise<Reply>> }> {
  const token = await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
  const replies = Array.from({ length: n }, (_, i) => sendCommand(client, { command: 'ECHO', uuid: `u-${i}`, payload: payload(i), timeout_ms: 60_000 }, r.clientToken));
  await untilListed(client, r.adminToken, (list) => list.queue_size === n);
  return { token, replies };
}

/** Connects worker `w` on `via` with its token; the queued commands are dispatched as soon as it is welcomed. */
async function connect(via: Client, token: string, batching: boolean | undefined): Promise<RawWorker> {
  const worker = new RawWorker(via, undefined);
  worker.hello({ identifier: 'w', version: '1.0', token, commands: ['ECHO'], ...(batching === undefined ? {} : { batching }) });
  expect(await worker.welcome).toMatchObject({ valid: true, batching: true });
  return worker;
}

const kinds = (worker: RawWorker): string[] => worker.messages.map((m) => m.kind).filter((k) => k === 'command' || k === 'commands');

describe('batches on the Connect stream', () => {
  it('a worker that takes batches gets the commands of one turn in one message and may answer them in one', async () => {
    const { token, replies } = await queueCommands(50);
    const worker = await connect(client, token, true);
    await worker.until(() => worker.commands.length === 50);
    // the queue is served in one turn when the worker is welcomed: one message, in queue order
    expect(kinds(worker)).toEqual(['commands']);
    expect(worker.commands.map((c) => c.uuid)).toEqual(Array.from({ length: 50 }, (_, i) => `u-${i}`));
    worker.write({ replies: { replies: worker.commands.map((c) => ({ uuid: c.uuid, status: 'SUCCESS', payload: c.payload, error: '' })) } });
    const answered = await Promise.all(replies);
    answered.forEach((reply, i) => expect(reply).toEqual({ uuid: `u-${i}`, status: 'SUCCESS', payload: JSON.stringify({ i }), error: '', worker: 'w@1.0' }));
    worker.call.end();
  });

  it('to a batching worker, a client batch of several commands arrives as one message; a unary command alone, at once', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const worker = await connect(client, token, true);
    worker.setHandler((c, w) => w.reply(c.uuid, 'SUCCESS', JSON.parse(c.payload)));
    const stream = new RawCommandStream(client, r.clientToken);
    try {
      const batch = stream.sendBatch(['b-0', 'b-1', 'b-2', 'b-3'].map((uuid) => ({ command: 'ECHO', uuid, payload: '{}', timeout_ms: 60_000 })));
      for (const reply of await Promise.all(batch)) expect(reply.status).toBe('SUCCESS');
      // unary callers each wait on their own reply: each command leaves alone, none waits for the end of a turn
      const unaryReplies = await Promise.all(['s-0', 's-1', 's-2'].map((uuid) => sendCommand(client, { command: 'ECHO', uuid, payload: '{}', timeout_ms: 60_000 }, r.clientToken)));
      for (const reply of unaryReplies) expect(reply.status).toBe('SUCCESS');
      const forms = worker.messages.filter((m) => m.kind === 'command' || m.kind === 'commands').map((m) => m.commands?.commands.map((c) => c.uuid) ?? m.command?.uuid);
      expect(forms[0]).toEqual(['b-0', 'b-1', 'b-2', 'b-3']);
      expect(forms.slice(1).sort()).toEqual(['s-0', 's-1', 's-2']);
    } finally {
      stream.call.end();
      worker.call.end();
    }
  });

  it('commands from another host: those that came in one message reach a batching worker together; one that came alone, alone and at once', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const worker = await connect(client, token, true);
    worker.setHandler((c, w) => w.reply(c.uuid, 'SUCCESS', {}));
    // this router as a fleet host: the link stands in for the other hosts (none here); commands come through its port
    const port = r.router.attachFleet({
      host: 'host-b',
      remote: { productsDeclaring: () => new Set(), send: () => false, sendToAdmin: () => false, settled: () => undefined },
      claims: { guard: (_uuid, _fingerprint, _timeoutMs, run) => run() },
      forwardEvent: () => undefined,
    });
    const command = (uuid: string): Command => ({ command: 'ECHO', uuid, payload: '{}', timeout_ms: 60_000, target: '', major: '', product: '', context: {} });
    const together = ['t-0', 't-1', 't-2'].map((uuid) => port.takeCommand(command(uuid), true));
    const alone = ['a-0', 'a-1'].map((uuid) => port.takeCommand(command(uuid), false));
    const replies = await Promise.all([...together, ...alone]);
    expect(replies.map((reply) => reply?.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    const forms = worker.messages.filter((m) => m.kind === 'command' || m.kind === 'commands').map((m) => m.commands?.commands.map((c) => c.uuid) ?? m.command?.uuid);
    // a lone command first sends what was gathered before it, then leaves alone, as a unary one does
    expect(forms).toEqual([['t-0', 't-1', 't-2'], 'a-0', 'a-1']);
    worker.call.end();
  });

  it('a worker whose Hello does not say batching (an old worker) gets one command per message, and is served', async () => {
    const { token, replies } = await queueCommands(30);
    const worker = await connect(client, token, undefined);
    worker.setHandler((c, w) => w.reply(c.uuid, 'SUCCESS', JSON.parse(c.payload)));
    for (const [i, reply] of (await Promise.all(replies)).entries()) expect(reply).toMatchObject({ uuid: `u-${i}`, status: 'SUCCESS', payload: JSON.stringify({ i }) });
    expect(kinds(worker)).toEqual(Array.from({ length: 30 }, () => 'command'));
    worker.call.end();
  });

  it('a batch never passes 4 MiB: big commands are split over messages a default gRPC client can read', async () => {
    const big = (i: number): string => JSON.stringify({ i, blob: 'x'.repeat(1_500_000) });
    const { token, replies } = await queueCommands(5, big);
    // a channel with gRPC's default 4 MiB receive limit: one message over it would end the stream
    const Ctor = routerClientConstructor();
    const plain = new Ctor(r.address, credentials.createInsecure());
    try {
      const worker = await connect(plain, token, true);
      worker.setHandler((c, w) => w.reply(c.uuid, 'SUCCESS', { i: (JSON.parse(c.payload) as { i: number }).i }));
      for (const [i, reply] of (await Promise.all(replies)).entries()) expect(reply).toMatchObject({ uuid: `u-${i}`, status: 'SUCCESS', payload: JSON.stringify({ i }) });
      const batches = worker.messages.filter((m) => m.kind === 'commands' || m.kind === 'command');
      expect(batches.length).toBeGreaterThanOrEqual(3);
      for (const m of batches) {
        const payloadBytes = (m.commands?.commands ?? [m.command]).reduce((sum, c) => sum + Buffer.byteLength(c?.payload ?? ''), 0);
        expect(payloadBytes).toBeLessThan(4 * 1024 * 1024);
      }
      worker.call.end();
    } finally {
      plain.close();
    }
  });

  it('a batch of replies is checked reply by reply: a foreign uuid is a strike, the others are answered, a late one dropped', async () => {
    const { token, replies } = await queueCommands(3);
    const worker = await connect(client, token, true);
    await worker.until(() => worker.commands.length === 3);
    const [a, b, c] = worker.commands;
    worker.write({ replies: { replies: [
      { uuid: a?.uuid ?? '', status: 'SUCCESS', payload: '{"ok":1}', error: '' },
      { uuid: 'not-given', status: 'SUCCESS', payload: '{}', error: '' },
      { uuid: b?.uuid ?? '', status: 'FAIL', payload: '', error: 'no luck' },
      { uuid: c?.uuid ?? '', status: 'SUCCESS', payload: 'not json', error: '' },
      { uuid: a?.uuid ?? '', status: 'SUCCESS', payload: '{"ok":2}', error: '' },
    ] } });
    const [ra, rb, rc] = await Promise.all(replies);
    expect(ra).toMatchObject({ status: 'SUCCESS', payload: '{"ok":1}' });
    expect(rb).toMatchObject({ status: 'FAIL', error: 'no luck' });
    expect(rc).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/^REPLY_INVALID: worker replied with a bad payload/) as unknown });
    const listed = await untilListed(client, r.adminToken, (list) => list.workers.some((w) => w.identifier === 'w' && w.served === 3));
    expect(listed.workers.find((w) => w.identifier === 'w')?.state).toBe('READY');
    worker.call.end();
  });

  it('a batch of events is published event by event, in order: a bad one dropped alone, single events still taken', async () => {
    const worker = await connectWorker(client, r.adminToken, { identifier: 'ev', commands: ['ECHO'] });
    expect(await worker.welcome).toMatchObject({ valid: true, event_batches: true });
    const watcher = new Watcher(client, { topics: ['utils/echo'] }, r.clientToken);
    try {
      await watcher.ready;
      worker.write({ events: { events: [
        { event: 'FIRST', topic: '', payload: '{"n":1}' },
        { event: 'bad name', topic: '', payload: '{}' },
        { event: 'SECOND', topic: 'utils/echo', payload: '{"n":2}' },
      ] } });
      worker.emit('THIRD', { n: 3 });
      await watcher.next((e) => e.event === 'THIRD');
      expect(watcher.events.map((e) => [e.event, e.payload, e.source])).toEqual([
        ['FIRST', '{"n":1}', 'ev@1.0'], ['SECOND', '{"n":2}', 'ev@1.0'], ['THIRD', '{"n":3}', 'ev@1.0'],
      ]);
      const listed = await untilListed(client, r.adminToken, (list) => list.workers.some((w) => w.identifier === 'ev'));
      expect(listed.workers.find((w) => w.identifier === 'ev')?.state).toBe('READY');
    } finally {
      watcher.cancel();
      worker.call.end();
    }
  });
});

describe('batched commands keep their own timeout and loss', () => {
  it('each command of a batch times out on its own; a stream that ends loses every one still in flight', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const send = (uuid: string, timeout_ms: number) => sendCommand(client, { command: 'ECHO', uuid, payload: '{}', timeout_ms }, r.clientToken);
    const [quick, answered, lost] = [send('quick', 1500), send('answered', 60_000), send('lost', 60_000)];
    await untilListed(client, r.adminToken, (list) => list.queue_size === 3);
    const worker = await connect(client, token, true);
    await worker.until(() => worker.commands.length === 3);
    expect(kinds(worker)).toEqual(['commands']);
    worker.reply('answered', 'SUCCESS', { ok: true });
    expect(await answered).toMatchObject({ status: 'SUCCESS', payload: '{"ok":true}' });
    expect(await quick).toMatchObject({ status: 'TIMEOUT', error: expect.stringMatching(/^TIMEOUT: /) as unknown });
    worker.call.cancel();
    expect(await lost).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/^WORKER_LOST: /) as unknown });
  });
});

describe('ConnectWriter', () => {
  const command = (uuid: string, payload = '{}'): Command => ({ uuid, command: 'ECHO', payload, timeout_ms: 1000, target: '', major: '', context: {}, product: '' });
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('to a batching worker: the batched commands of one turn leave as one message, before a drain or event sent in that turn', async () => {
    const stream = new PassThrough({ objectMode: true, highWaterMark: 1000 });
    const written: RouterMessageOut[] = [];
    stream.on('data', (m: RouterMessageOut) => written.push(m));
    const writer = new ConnectWriter(stream, { congestedAt: 100 });
    writer.batchCommands();
    for (const u of ['a', 'b', 'c']) writer.sendCommand(command(u), true);
    expect(writer.buffered).toBe(3);
    writer.send({ drain: { reason: 'test' } });
    writer.sendCommand(command('d'), true);
    await turn();
    expect(written.map((m) => m.commands?.commands.map((c) => c.uuid) ?? Object.keys(m)[0])).toEqual([['a', 'b', 'c'], 'drain', 'command']);
    expect(written[2]?.command?.uuid).toBe('d'); // alone in its turn: the single form
  });

  it('to a batching worker: a command that came alone leaves at once, after the batch gathered so far', () => {
    const stream = new PassThrough({ objectMode: true, highWaterMark: 1000 });
    const written: RouterMessageOut[] = [];
    stream.on('data', (m: RouterMessageOut) => written.push(m));
    const writer = new ConnectWriter(stream, { congestedAt: 100 });
    writer.batchCommands();
    writer.sendCommand(command('alone'), false);
    expect(written.map((m) => m.command?.uuid)).toEqual(['alone']);
    for (const u of ['a', 'b']) writer.sendCommand(command(u), true);
    writer.sendCommand(command('next'), false);
    expect(written.map((m) => m.commands?.commands.map((c) => c.uuid) ?? m.command?.uuid)).toEqual(['alone', ['a', 'b'], 'next']);
  });

  it('without batching every command is its own message, at once', () => {
    const stream = new PassThrough({ objectMode: true, highWaterMark: 1000 });
    const written: RouterMessageOut[] = [];
    stream.on('data', (m: RouterMessageOut) => written.push(m));
    const writer = new ConnectWriter(stream, { congestedAt: 100 });
    for (const u of ['a', 'b']) writer.sendCommand(command(u), true);
    expect(written.map((m) => m.command?.uuid)).toEqual(['a', 'b']);
  });

  it('counts held commands one by one for congestion, batched or not', async () => {
    const callbacks: Array<() => void> = [];
    const stream = new Writable({ objectMode: true, highWaterMark: 1, write: (_m, _e, cb) => void callbacks.push(() => cb()) });
    const writer = new ConnectWriter(stream, { congestedAt: 5 });
    writer.batchCommands();
    writer.sendCommand(command('first'), true); // goes to the stream at the end of the turn, which then holds the rest
    await turn();
    for (const u of ['a', 'b', 'c', 'd']) writer.sendCommand(command(u), true);
    await turn();
    expect(writer.buffered).toBe(4); // one held message of four commands
    expect(writer.congested).toBe(false);
    writer.sendCommand(command('e'), false);
    expect(writer.congested).toBe(true);
    while (callbacks.length > 0) {
      callbacks.shift()?.();
      await turn();
    }
    expect(writer.buffered).toBe(0);
  });
});
