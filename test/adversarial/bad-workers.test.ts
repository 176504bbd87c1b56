// Workers that misbehave on their stream: cut off with a logged reason while a good worker keeps serving.
import { status, type Client } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerMessage } from '../../src/proto/types.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { killAllFixtureWorkers, spawnFixtureWorker } from '../helpers/workers.js';
import { connectWorker, expectWorker, RawWorker, routerClient, sendCommand, unary, Watcher } from '../router/raw.js';

const LIMITS = { workerStrikes: 5, slowReaderMs: 500, workerConcurrency: 2 };
let r: TestRouter | undefined;
let client: Client | undefined;
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await killAllFixtureWorkers();
  client?.close();
  await r?.close();
  r = undefined;
});

/** A router with small limits, a good echo worker (utils/echo, pivot ECHO) and a watcher on topic `router`. */
async function setup() {
  r = await startTestRouter({ limits: LIMITS });
  client = routerClient(r.address);
  const good = await connectWorker(client, r.adminToken, { identifier: 'good', commands: ['ECHO'] });
  const watcher = new Watcher(client, { topics: ['router'] }, r.adminToken);
  await watcher.ready;
  cleanups.push(() => good.call.cancel(), () => watcher.cancel());
  return { router: r, client, good, watcher };
}

/** The good worker still READY and serving, its in-flight count back to zero. */
async function expectGoodServes(c: Client, token: string): Promise<void> {
  const reply = await sendCommand(c, { command: 'ECHO', payload: '{"still":"served"}', timeout_ms: 5_000 }, token);
  expect(reply).toMatchObject({ status: 'SUCCESS', worker: 'good@1.0', payload: '{"still":"served"}' });
  const list = await unary<{ workers: Array<{ identifier: string; state: string }> }>(c, 'ListWorkers', {}, token);
  expect(list.workers.find((w) => w.identifier === 'good')?.state).toBe('READY');
}

describe('adversarial: bad workers', () => {
  it('a worker flooding replies for uuids it was not given is cut off', async () => {
    const { router, client: c, watcher } = await setup();
    const bad = await connectWorker(c, router.adminToken, { identifier: 'flooder', version: '1.0', commands: ['FLOOD'] });
    for (let i = 0; i < 20; i++) bad.reply(`not-yours-${i}`, 'SUCCESS', {});
    expect(await bad.status).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/^WORKER_CUT_OFF: MISBEHAVING: 5 bad messages, the last: reply for uuid "not-yours-4" it was not given \(limit workerStrikes = 5\)/) });
    const gone = await watcher.next((e) => e.event === 'WORKER_DISCONNECTED' && e.payload.includes('flooder'));
    expect(JSON.parse(gone.payload)).toMatchObject({ identifier: 'flooder', reason: expect.stringMatching(/^WORKER_CUT_OFF: MISBEHAVING/) });
    await expectGoodServes(c, router.clientToken);
  });

  it('a worker sending malformed messages (no kind, bad event names, events that are not JSON) is cut off', async () => {
    const { router, client: c } = await setup();
    const bad = await connectWorker(c, router.adminToken, { identifier: 'garbler', commands: ['GARBLE'] });
    bad.write({} as WorkerMessage); // no kind at all
    bad.write({ event: { event: '../x', topic: '', payload: '{}' } });
    bad.write({ event: { event: 'OK_NAME', topic: '', payload: '{nope' } });
    bad.write({ event: { event: 'DEEP', topic: '', payload: '['.repeat(80) + ']'.repeat(80) } });
    bad.write({ event: { event: 'FAKE', topic: 'router', payload: '{}' } });
    expect(await bad.status).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/^WORKER_CUT_OFF: MISBEHAVING: 5 bad messages, the last: event dropped: topic router is reserved/) });
    await expectGoodServes(c, router.clientToken);
  });

  it('a worker replying with a payload that is not JSON: the client gets FAIL naming it, not the bytes', async () => {
    const { router, client: c } = await setup();
    await connectWorker(c, router.adminToken, {
      identifier: 'liar', commands: ['LIE'], handler: (command, w) => w.write({ reply: { uuid: command.uuid, status: 'SUCCESS', payload: '{broken', error: '' } }),
    });
    const reply = await sendCommand(c, { command: 'LIE', timeout_ms: 5_000 }, router.clientToken);
    expect(reply).toMatchObject({ status: 'FAIL', payload: '', worker: 'liar@1.0', error: expect.stringMatching(/^REPLY_INVALID: worker replied with a bad payload: reply payload is not JSON/) });
    await expectGoodServes(c, router.clientToken);
  });

  it('a worker that never reads its stream (a stopped process) is cut off (SLOW_READER), its commands answered WORKER_LOST', async () => {
    const { router, client: c, watcher } = await setup();
    const deaf = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'topic-listener.mjs', identifier: 'deaf', commands: ['SEEN'] });
    await deaf.waitForOutput('ready deaf');
    process.kill(deaf.pid, 'SIGSTOP'); // from now on nothing is read: socket buffers and HTTP/2 flow control back the router up
    cleanups.push(() => deaf.kill('SIGKILL'));
    const big = JSON.stringify({ blob: 'x'.repeat(256 * 1024) });
    const lost = sendCommand(c, { command: 'SEEN', payload: '{}', timeout_ms: 20_000 }, router.clientToken);
    // More than the kernel's socket buffers and the HTTP/2 windows hold.
    for (let i = 0; i < 120 && !watcher.events.some((e) => e.event === 'WORKER_DISCONNECTED'); i++) {
      await unary(c, 'SendEvent', { topic: 'billing', event: 'BIG', payload: big, uuid: '', reference_uuid: '', timestamp_ms: 0, source: '' }, router.clientToken);
    }
    const gone = await watcher.next((e) => e.event === 'WORKER_DISCONNECTED' && e.payload.includes('deaf'), 15_000);
    expect(JSON.parse(gone.payload)).toMatchObject({ identifier: 'deaf', reason: expect.stringMatching(/^WORKER_CUT_OFF: SLOW_READER: the stream was not read for 500 ms \(limit slowReaderMs = 500\)/) });
    expect(await lost).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/^WORKER_LOST: deaf@1\.0 went away .*SLOW_READER/) });
    await expectGoodServes(c, router.clientToken);
  });

  it("a worker listing another product's command keeps it as its own, but takes none of that product's traffic", async () => {
    const { router, client: c } = await setup();
    // 'good' is utils/echo whose pivot is ECHO; 'hijacker' is evil/x and lists ECHO as an extra command.
    const token = await expectWorker(c, router.adminToken, { identifier: 'hijacker', version: '1.0', type: 'evil', product: 'x', commands: ['STEAL'] });
    const hijacker = new RawWorker(c, (command, w) => w.reply(command.uuid, 'SUCCESS', { stolen: true }));
    cleanups.push(() => hijacker.call.cancel());
    hijacker.hello({ identifier: 'hijacker', version: '1.0', token, type: 'evil', product: 'x', commands: ['STEAL', 'ECHO'] });
    expect(await hijacker.welcome).toEqual({ valid: true, reason: '', batching: true, event_batches: true });
    const list = await unary<{ workers: Array<{ identifier: string; commands: string[] }> }>(c, 'ListWorkers', {}, router.clientToken);
    expect(list.workers.find((w) => w.identifier === 'hijacker')?.commands).toEqual(['STEAL', 'ECHO']);
    for (let i = 0; i < 4; i++) {
      // Two products serve ECHO now: unpinned, it goes to neither; pinned, to the product named.
      const unpinned = await sendCommand(c, { command: 'ECHO', payload: '{}', timeout_ms: 5_000 }, router.clientToken);
      expect(unpinned).toMatchObject({ status: 'INVALID', worker: '', error: 'AMBIGUOUS_COMMAND: ECHO is served by evil/x, utils/echo; pin a product' });
      const pinned = await sendCommand(c, { command: 'ECHO', payload: '{"still":"served"}', product: 'utils/echo', timeout_ms: 5_000 }, router.clientToken);
      expect(pinned).toMatchObject({ status: 'SUCCESS', worker: 'good@1.0', payload: '{"still":"served"}' });
    }
    expect(hijacker.commands).toEqual([]);
  });

  it('a worker gets at most workerConcurrency commands in flight; the rest wait for it', async () => {
    const { router, client: c } = await setup();
    const held: string[] = [];
    const slow = await connectWorker(c, router.adminToken, { identifier: 'slow', commands: ['HOLD'], handler: (command) => void held.push(command.uuid) });
    const replies = [1, 2, 3].map((n) => sendCommand(c, { command: 'HOLD', payload: `{"n":${n}}`, timeout_ms: 10_000 }, router.clientToken));
    await slow.until(() => slow.commands.length === 2);
    // a command sent after the third is answered: the router has seen the third by then and kept it queued
    await expectGoodServes(c, router.clientToken);
    expect(slow.commands).toHaveLength(2);
    slow.reply(held[0]!, 'SUCCESS', { done: 1 });
    await slow.until(() => slow.commands.length === 3);
    for (const uuid of held.slice(1)) slow.reply(uuid, 'SUCCESS', {});
    expect((await Promise.all(replies)).map((x) => x.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    await expectGoodServes(c, router.clientToken);
  });
});
