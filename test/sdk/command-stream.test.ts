// SendCommands streams for real: the bearer checked per stream, a refused command answered on a stream that stays open,
// replies batched per turn, half-close, the router closing with commands in flight (every one answered), and batches
// split under the message limit both ways. Streams broken by a killed router: stream-broken.test.ts.
import { randomUUID } from 'node:crypto';
import { status, type Client } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { errorCodeOf, isWorkerAdminError } from '../../src/common/errors.js';
import { PROTO_FILES } from '../../src/proto/embedded.js';
import type { CommandBatch, Reply, ReplyBatch } from '../../src/proto/types.js';
import { connectRouter } from '../../src/sdk/client.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { StreamPool } from '../../src/sdk/stream-pool.js';
import { makeToken, startTestRouter, type TestRouter } from '../helpers/router.js';
import { connectWorker, RawCommandStream, RawWorker, routerClient, sendCommand } from '../router/raw.js';

const MiB = 1024 * 1024;

describe('SendCommands on a router in this process', () => {
  let r: TestRouter;
  let client: Client;
  const streams: RawCommandStream[] = [];
  const open = (token: string | undefined): RawCommandStream => {
    const stream = new RawCommandStream(client, token);
    streams.push(stream);
    return stream;
  };

  beforeEach(async () => {
    r = await startTestRouter({ transport: 'tcp' });
    client = routerClient(r.address);
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.call.cancel();
    client.close();
    await r.close();
  });

  it('the bearer is checked when the stream opens: none or a wrong one ends it UNAUTHENTICATED, naming SendCommands', async () => {
    for (const [token, details] of [[undefined, /^SendCommands needs "authorization: Bearer TOKEN" metadata$/], [makeToken(), /^SendCommands: the bearer token is not valid$/]] as const) {
      const stream = open(token);
      const refused = await stream.send({ command: 'ECHO', uuid: randomUUID() }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringMatching(details) });
      expect(await stream.status).toMatchObject({ code: status.UNAUTHENTICATED });
    }
  });

  it('the client token: its commands run, an ADMIN_* one is a Reply INVALID UNAUTHENTICATED and the stream stays open', async () => {
    const admin = new RawWorker(client, (c, w) => w.reply(c.uuid, 'SUCCESS', { admin: true }), r.adminToken);
    admin.hello({ identifier: 'admin', version: '0.1', commands: ['ADMIN_LIST_WORKERS'] });
    await admin.welcome;
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ECHO'] });
    const asClient = open(r.clientToken);
    const [refused, echoed] = await Promise.all(asClient.sendBatch([{ command: 'ADMIN_LIST_WORKERS', uuid: 'a-1' }, { command: 'ECHO', uuid: 'e-1', payload: '{"n":1}' }]));
    expect(refused).toMatchObject({ uuid: 'a-1', status: 'INVALID', worker: '' });
    expect(errorCodeOf(refused!.error)).toBe('UNAUTHENTICATED');
    expect(refused!.error).toBe('UNAUTHENTICATED: SendCommands ADMIN_LIST_WORKERS needs the admin token');
    expect(echoed).toMatchObject({ uuid: 'e-1', status: 'SUCCESS', payload: '{"n":1}' });
    expect(admin.commands).toHaveLength(0);
    expect(await asClient.send({ command: 'ECHO', uuid: 'e-2' })).toMatchObject({ status: 'SUCCESS' });
    // the admin token's stream may send it
    expect(await open(r.adminToken).send({ command: 'ADMIN_LIST_WORKERS', uuid: 'a-2' })).toMatchObject({ status: 'SUCCESS', worker: 'admin@0.1' });
  });

  it('replies ready in the same turn go out in one ReplyBatch; each command gets exactly one Reply', async () => {
    const stream = open(r.clientToken);
    const uuids = Array.from({ length: 20 }, () => randomUUID());
    const replies = await Promise.all(stream.sendBatch(uuids.map((uuid) => ({ command: 'NOBODY_SERVES', uuid }))));
    expect(replies.map((x) => [x.uuid, x.status])).toEqual(uuids.map((uuid) => [uuid, 'NO_WORKER']));
    // all twenty were answered at once (unknown command), while the router handled the one CommandBatch
    expect(stream.batches.map((b) => b.length)).toEqual([20]);
  });

  it('half-close: the router answers what is in flight, then ends the stream OK', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['LATER'], handler: (c, w) => void setTimeout(() => w.reply(c.uuid, 'SUCCESS', { late: true }), 300) });
    const stream = open(r.clientToken);
    const replies = stream.sendBatch([1, 2, 3].map((n) => ({ command: 'LATER', uuid: `l-${n}` })));
    stream.call.end();
    expect((await Promise.all(replies)).map((x) => x.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(await stream.status).toMatchObject({ code: status.OK });
  });

  it('the router closing with commands in flight answers each FAIL ROUTER_SHUTDOWN on the stream, then ends it', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['HANG'], handler: () => undefined });
    const sdk = connectRouter({ address: r.address, token: r.clientToken });
    try {
      const replies = [1, 2, 3].map(() => sdk.send('HANG', {}, { timeout: '60s' }));
      const stream = open(r.clientToken);
      const raw = stream.sendBatch([{ command: 'HANG', uuid: 'h-raw', timeout_ms: 60_000 }]);
      await expect.poll(async () => (await sdk.listWorkers()).workers[0]?.in_flight, { timeout: 15_000 }).toBe(4);
      await r.close();
      for (const reply of await Promise.all([...replies, ...raw.map((p) => p.then((x) => ({ status: x.status, error: x.error })))])) {
        expect(reply.status).toBe('FAIL');
        expect(errorCodeOf(reply.error)).toBe('ROUTER_SHUTDOWN');
      }
      expect(await stream.status).toMatchObject({ code: status.OK });
    } finally {
      sdk.close();
    }
  });

  it('a worker reply that no longer fits in one message: FAIL LIMIT_EXCEEDED on a stream (unary: RESOURCE_EXHAUSTED); the stream goes on', async () => {
    await r.close();
    const limit = 64 * 1024;
    r = await startTestRouter({ transport: 'tcp', limits: { messageBytes: limit } });
    client.close();
    client = routerClient(r.address);
    // the worker's message is exactly at the limit; the router's Reply adds the worker's name to it
    const workerMessage = protobuf.parse(PROTO_FILES['workeradmin/v1/router.proto']!, { keepCase: true }).root.lookupType('workeradmin.v1.WorkerMessage');
    const reply = (uuid: string, n: number) => ({ reply: { uuid, status: 1, payload: JSON.stringify('x'.repeat(n)), error: '' } });
    const sized = (uuid: string): { reply: { uuid: string; status: number; payload: string; error: string } } => {
      let n = limit - 100;
      n += limit - workerMessage.encode(workerMessage.fromObject(reply(uuid, n))).finish().length;
      return reply(uuid, n);
    };
    await connectWorker(client, r.adminToken, { identifier: 'big', commands: ['BIG', 'ECHO'], handler: (c, w) => w.write(c.command === 'BIG' ? (sized(c.uuid) as never) : { reply: { uuid: c.uuid, status: 'SUCCESS', payload: c.payload, error: '' } }) });
    const stream = open(r.clientToken);
    const streamed = await stream.send({ command: 'BIG', uuid: randomUUID() });
    expect(streamed).toMatchObject({ status: 'FAIL', worker: 'big@1.0', payload: '' });
    expect(streamed.error).toMatch(/^LIMIT_EXCEEDED: the reply is \d+ bytes, over the 65536-byte message limit/);
    expect(await stream.send({ command: 'ECHO', uuid: randomUUID(), payload: '{"after":1}' })).toMatchObject({ status: 'SUCCESS', payload: '{"after":1}' });
    const unary = await sendCommand(client, { command: 'BIG', uuid: randomUUID() }, r.clientToken).catch((e: unknown) => e);
    expect(unary).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });
});

describe('SDK batches under the message limit', () => {
  let r: TestRouter;
  let rpc: RouterRpc;
  const written: number[] = [];
  const received: number[] = [];
  /** Writes that report flow control (write() false, as a full stream does) though the real stream took them. */
  let refuse = 0;
  let lastCall: ReturnType<RouterRpc['sendCommands']> | undefined;

  beforeEach(async () => {
    r = await startTestRouter({ transport: 'tcp' });
    const admin = routerClient(r.address);
    await connectWorker(admin, r.adminToken, { identifier: 'echo', commands: ['ECHO'] });
    admin.close();
    const real = createRouterRpc({ address: r.address, token: r.clientToken });
    // the real stream, with each CommandBatch written and each ReplyBatch read counted on the way
    rpc = {
      ...real,
      sendCommands: () => {
        const call = real.sendCommands();
        const write = call.write.bind(call) as (batch: CommandBatch) => boolean;
        call.write = ((batch: CommandBatch) => {
          written.push(batch.commands.length);
          const ok = write(batch);
          if (refuse === 0) return ok;
          refuse -= 1;
          return false;
        }) as typeof call.write;
        lastCall = call;
        call.on('data', (batch: ReplyBatch) => received.push(batch.replies.length));
        return call;
      },
    };
    written.length = 0;
    received.length = 0;
    refuse = 0;
  });
  afterEach(async () => {
    rpc.close();
    await r.close();
  });

  it('commands sent in one turn go out as one CommandBatch', async () => {
    const pool = new StreamPool(rpc, 1);
    const replies = await Promise.all(Array.from({ length: 7 }, (_, n) => pool.send({ command: 'ECHO', payload: JSON.stringify({ n }) })));
    expect(replies.map((x) => [x.status, JSON.parse(x.payload).n])).toEqual(Array.from({ length: 7 }, (_, n) => ['SUCCESS', n]));
    expect(written).toEqual([7]);
    pool.close();
  });

  it('a command alone on an idle stream is written in the turn it was sent, not after the immediates already queued', async () => {
    const pool = new StreamPool(rpc, 1);
    expect(await pool.send({ command: 'ECHO', payload: '{"n":0}' })).toMatchObject({ status: 'SUCCESS' });
    written.length = 0;
    const seen: number[] = [];
    setImmediate(() => seen.push(written.length));
    const alone = pool.send({ command: 'ECHO', payload: '{"n":1}' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([1]);
    expect(await alone).toMatchObject({ status: 'SUCCESS', payload: '{"n":1}' });
    // two sent in one callback on an idle stream still leave together
    expect((await Promise.all([2, 3].map((n) => pool.send({ command: 'ECHO', payload: JSON.stringify({ n }) })))).map((x) => x.status)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(written).toEqual([1, 2]);
    pool.close();
  });

  it('a batch of 8 or more holding every command in flight leaves as two halves a turn apart; beside another wave, whole', async () => {
    const pool = new StreamPool(rpc, 1);
    const send = (n: number) => pool.send({ command: 'ECHO', payload: JSON.stringify({ n }) });
    // one wave of 25, nothing else in flight: 12 now, 13 one turn later
    const first = await Promise.all(Array.from({ length: 25 }, (_, n) => send(n)));
    expect(first.map((x) => JSON.parse(x.payload).n)).toEqual(Array.from({ length: 25 }, (_, n) => n));
    expect(written).toEqual([12, 13]);
    // 10 in one turn while 20 of an earlier turn are held by a worker: one batch, not split (a second wave)
    const held: Array<() => void> = [];
    const admin = routerClient(r.address);
    await connectWorker(admin, r.adminToken, { identifier: 'hold', commands: ['HOLD'], handler: (c, w) => void held.push(() => w.reply(c.uuid, 'SUCCESS', {})) });
    written.length = 0;
    const earlier = Array.from({ length: 20 }, () => pool.send({ command: 'HOLD', payload: '{}' }));
    await vi.waitFor(() => expect(held).toHaveLength(20));
    const later = await Promise.all(Array.from({ length: 10 }, (_, n) => send(200 + n)));
    expect(later.map((x) => JSON.parse(x.payload).n)).toEqual(Array.from({ length: 10 }, (_, n) => 200 + n));
    for (const release of held) release();
    expect((await Promise.all(earlier)).map((x) => x.status)).toEqual(earlier.map(() => 'SUCCESS'));
    admin.close();
    expect(written).toEqual([10, 10, 10]);
    pool.close();
  });

  it('flow control in the middle of a split wave loses nothing: the rest of the first half, then the second, after drain', async () => {
    const pool = new StreamPool(rpc, 1);
    const payloads = Array.from({ length: 8 }, (_, n) => JSON.stringify({ n, blob: 'x'.repeat(1.5 * MiB) }));
    refuse = 1;
    const replies = Promise.all(payloads.map((payload) => pool.send({ command: 'ECHO', payload })));
    // 4 now (two messages of 2, the first reported full, so the second waits), 4 held for the next turn
    await vi.waitFor(() => expect(written).toEqual([2]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toEqual([2]);
    lastCall!.emit('drain');
    expect((await replies).map((x) => x.payload)).toEqual(payloads);
    expect(written).toEqual([2, 2, 2, 2]);
    pool.close();
  });

  it('three 1.5 MiB commands of one turn are split 2 + 1 (4 MiB per message); the router splits their replies too', async () => {
    const pool = new StreamPool(rpc, 1);
    const payloads = [1, 2, 3].map((n) => JSON.stringify({ n, blob: 'x'.repeat(1.5 * MiB) }));
    const replies: Reply[] = await Promise.all(payloads.map((payload) => pool.send({ command: 'ECHO', payload })));
    expect(replies.map((x) => x.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(replies.map((x) => x.payload)).toEqual(payloads);
    expect(written).toEqual([2, 1]);
    expect(received.reduce((a, b) => a + b, 0)).toBe(3);
    expect(Math.max(...received)).toBeLessThanOrEqual(2);
    pool.close();
  });

  it('streams per router must be 1–8: anything else is CONFIG_INVALID before any channel opens', () => {
    for (const streams of [0, 9, 1.5]) {
      expect(() => connectRouter({ address: r.address, streams })).toThrow(/^connectRouter: streams must be an integer from 1 to 8/);
    }
  });

  it('a single command over the limit is refused before it is written, as unary refuses it; the stream goes on', async () => {
    const context = { blob: 'x'.repeat(4 * MiB + 10) };
    const streaming = connectRouter({ address: r.address, token: r.clientToken });
    const unary = connectRouter({ address: r.address, token: r.clientToken, streaming: false });
    try {
      for (const [client, method] of [[streaming, 'SendCommands'], [unary, 'SendCommand']] as const) {
        const error = await client.send('ECHO', {}, { context }).catch((e: unknown) => e);
        expect(isWorkerAdminError(error, 'ROUTER_ERROR')).toBe(true);
        expect((error as { details: { grpcCode: number } }).details.grpcCode).toBe(status.RESOURCE_EXHAUSTED);
        expect((error as Error).message).toMatch(new RegExp(`^router 127\\.0\\.0\\.1:\\d+: ${method} failed with RESOURCE_EXHAUSTED: `));
      }
      const [small, after] = await Promise.all([streaming.send('ECHO', { n: 1 }), streaming.send('ECHO', { n: 2 })]);
      expect([small.payload, after.payload]).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      streaming.close();
      unary.close();
    }
  });
});
