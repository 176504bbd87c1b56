// Drain: a drained worker gets nothing new, finishes in flight, half-closes; the router ends its stream OK.
import type { Client } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Command, WorkerList } from '../../src/proto/types.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { sha256Hex } from '../../src/router/auth.js';
import { connectWorker, expectWorker, RawWorker, routerClient, sendCommand, unary, Watcher } from './raw.js';

describe('drain', () => {
  let r: TestRouter;
  let client: Client;

  beforeEach(async () => {
    r = await startTestRouter();
    client = routerClient(r.address);
  });
  afterEach(async () => {
    client.close();
    await r.close();
  });

  it('a drained worker gets nothing new and no events, finishes in flight, then its half-close ends the stream OK', async () => {
    const held: Command[] = [];
    const old = await connectWorker(client, r.adminToken, { identifier: 'svc', version: '1.0', commands: ['WORK'], topics: ['news'], handler: (c) => void held.push(c) });
    const inFlight = [1, 2].map((n) => sendCommand(client, { command: 'WORK', payload: JSON.stringify({ n }) }, r.clientToken));
    await old.until(() => held.length === 2);
    const fresh = await connectWorker(client, r.adminToken, { identifier: 'svc', version: '1.1', commands: ['WORK'], topics: ['news'] });

    const ack = await unary<{ ok: boolean; message: string }>(client, 'DrainWorker', { identifier: 'svc', version: '1.0' }, r.adminToken);
    expect(ack).toEqual({ ok: true, message: 'draining svc@1.0' });
    await old.until(() => old.drained);
    const list = await unary<WorkerList>(client, 'ListWorkers', {}, r.clientToken);
    expect(list.workers.find((w) => w.version === '1.0')).toMatchObject({ state: 'DRAINING', in_flight: 2 });

    // New commands and events go to the new version only.
    const after = await Promise.all([1, 2, 3, 4].map(() => sendCommand(client, { command: 'WORK' }, r.clientToken)));
    expect(after.map((a) => a.worker)).toEqual(['svc@1.1', 'svc@1.1', 'svc@1.1', 'svc@1.1']);
    await unary(client, 'SendEvent', { topic: 'news', event: 'HEADLINE', payload: '{}' }, r.clientToken);
    await fresh.until(() => fresh.events.length === 1);
    expect(old.events).toHaveLength(0);
    expect(old.commands).toHaveLength(2);

    // The old one finishes what it has, then half-closes.
    for (const c of held) old.reply(c.uuid, 'SUCCESS', { done: JSON.parse(c.payload).n });
    const done = await Promise.all(inFlight);
    expect(done.map((d) => [d.status, d.worker])).toEqual([['SUCCESS', 'svc@1.0'], ['SUCCESS', 'svc@1.0']]);
    old.call.end();
    expect((await old.status).code).toBe(status.OK);
    const afterList = await unary<WorkerList>(client, 'ListWorkers', {}, r.clientToken);
    expect(afterList.workers.map((w) => `${w.identifier}@${w.version}`)).toEqual(['svc@1.1']);
    expect(afterList.workers[0]!.served).toBe(4);
  });

  it('commands still in flight at the half-close get WORKER_LOST; the disconnect is published', async () => {
    const watcher = new Watcher(client, { topics: ['router'], events: ['WORKER_DISCONNECTED'] }, r.adminToken);
    await watcher.ready;
    const worker = await connectWorker(client, r.adminToken, { identifier: 'early', commands: ['WORK'], handler: () => undefined });
    const pending = sendCommand(client, { command: 'WORK' }, r.clientToken);
    await worker.until(() => worker.commands.length === 1);
    worker.call.end();
    const reply = await pending;
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^WORKER_LOST/);
    expect((await worker.status).code).toBe(status.OK);
    const event = await watcher.next(() => true);
    expect(JSON.parse(event.payload)).toEqual({ identifier: 'early', version: '1.0', reason: 'half-closed by the worker' });
    watcher.cancel();
  });

  it('DrainWorker with an empty version drains every version; an unknown identifier is ok:false', async () => {
    const a = await connectWorker(client, r.adminToken, { identifier: 'x', version: '1.0', commands: ['A'] });
    const b = await connectWorker(client, r.adminToken, { identifier: 'x', version: '2.0', commands: ['A'] });
    const ack = await unary<{ ok: boolean }>(client, 'DrainWorker', { identifier: 'x', version: '' }, r.adminToken);
    expect(ack.ok).toBe(true);
    await a.until(() => a.drained);
    await b.until(() => b.drained);
    const queued = await sendCommand(client, { command: 'A', timeout_ms: 200 }, r.clientToken);
    expect(queued.status).toBe('NO_WORKER');
    const none = await unary<{ ok: boolean; message: string }>(client, 'DrainWorker', { identifier: 'nobody', version: '' }, r.adminToken);
    expect(none).toEqual({ ok: false, message: 'no connected worker nobody' });
  });

  it('DrainWorker with a token_sha256 drains only the stream opened with that token: two streams of one IDENTIFIER@VERSION', async () => {
    // a version re-published in place: the old and the new bytes run side by side under svc@1.0
    const open = async (): Promise<{ worker: RawWorker; digest: string }> => {
      const token = await expectWorker(client, r.adminToken, { identifier: 'svc', version: '1.0', commands: ['WORK'] });
      const worker = new RawWorker(client, (c, w) => w.reply(c.uuid, 'SUCCESS', { by: token.slice(0, 6) }));
      worker.hello({ identifier: 'svc', version: '1.0', token, commands: ['WORK'], topics: [] });
      expect((await worker.welcome).valid).toBe(true);
      return { worker, digest: sha256Hex(token) };
    };
    const old = await open();
    const fresh = await open();
    const unknown = await unary<{ ok: boolean; message: string }>(client, 'DrainWorker', { identifier: 'svc', version: '1.0', token_sha256: 'f'.repeat(64) }, r.adminToken);
    expect(unknown.ok).toBe(false);
    expect(unknown.message).toMatch(/^no connected worker svc@1\.0 opened with token sha256 f{12}…$/);

    const ack = await unary<{ ok: boolean; message: string }>(client, 'DrainWorker', { identifier: 'svc', version: '1.0', token_sha256: old.digest }, r.adminToken);
    expect(ack).toEqual({ ok: true, message: 'draining svc@1.0' });
    await old.worker.until(() => old.worker.drained);
    expect(fresh.worker.drained).toBe(false);
    const list = await unary<WorkerList>(client, 'ListWorkers', {}, r.clientToken);
    expect(list.workers.map((w) => w.state).sort()).toEqual(['DRAINING', 'READY']);
    const replies = await Promise.all([1, 2, 3].map(() => sendCommand(client, { command: 'WORK' }, r.clientToken)));
    expect(replies.map((x) => x.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(old.worker.commands).toHaveLength(0);
    expect(fresh.worker.commands).toHaveLength(3);
    old.worker.call.end();
    expect((await old.worker.status).code).toBe(status.OK);
  });
});
