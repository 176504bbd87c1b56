// Events by topic: to watchers whose filter matches and to workers subscribed in their Hello.
import type { Client } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { connectWorker, grpcErrorOf, RawWorker, routerClient, unary, Watcher } from './raw.js';

describe('events', () => {
  let r: TestRouter;
  let client: Client;
  const watchers: Watcher[] = [];
  const watch = async (filter: { topics?: string[]; events?: string[] }, token?: string): Promise<Watcher> => {
    const w = new Watcher(client, filter, token ?? r.clientToken);
    watchers.push(w);
    await w.ready;
    return w;
  };

  beforeEach(async () => {
    r = await startTestRouter();
    client = routerClient(r.address);
  });
  afterEach(async () => {
    for (const w of watchers.splice(0)) w.cancel();
    client.close();
    await r.close();
  });

  it('SendEvent reaches watchers by topic and event name, and workers subscribed to the topic', async () => {
    const billing = await watch({ topics: ['billing'] });
    const onlyPaid = await watch({ events: ['PAID'] });
    const all = await watch({});
    const subscriber = await connectWorker(client, r.adminToken, { identifier: 'sub', commands: [], topics: ['billing'] });
    const other = await connectWorker(client, r.adminToken, { identifier: 'other', commands: [], topics: ['shipping'] });
    const ack = await unary<{ ok: boolean; message: string }>(client, 'SendEvent', { topic: 'billing', event: 'PAID', payload: '{"amount":3}', reference_uuid: 'ref-1' }, r.clientToken);
    expect(ack.ok).toBe(true);
    await unary(client, 'SendEvent', { topic: 'billing', event: 'REFUNDED', payload: '{}' }, r.clientToken);
    await unary(client, 'SendEvent', { topic: 'shipping', event: 'PAID', payload: '{}' }, r.clientToken);

    const paid = await billing.next((e) => e.event === 'PAID');
    expect(paid).toMatchObject({ uuid: ack.message, topic: 'billing', payload: '{"amount":3}', reference_uuid: 'ref-1', source: 'client' });
    expect(paid.timestamp_ms).toBeGreaterThan(Date.now() - 60_000);
    await billing.next((e) => e.event === 'REFUNDED');
    await all.next((e) => e.topic === 'shipping');
    await onlyPaid.next((e) => e.topic === 'shipping');
    await subscriber.until(() => subscriber.events.length === 2);
    await other.until(() => other.events.length === 1);
    expect(billing.events.map((e) => e.event)).toEqual(['PAID', 'REFUNDED']);
    expect(onlyPaid.events.map((e) => e.topic)).toEqual(['billing', 'shipping']);
    expect(subscriber.events.map((e) => e.event)).toEqual(['PAID', 'REFUNDED']);
    expect(other.events.map((e) => `${e.topic}/${e.event}`)).toEqual(['shipping/PAID']);
  });

  it('worker events: source stamped by the router, topic defaults to type/product, not echoed to the emitter', async () => {
    const w = await watch({});
    const emitter = await connectWorker(client, r.adminToken, { identifier: 'em', version: '1.3', commands: [], topics: ['utils/echo'] });
    const listener = await connectWorker(client, r.adminToken, { identifier: 'li', commands: [], topics: ['utils/echo'] });
    emitter.write({ event: { event: 'ECHOED', payload: '{"n":1}', source: 'forged@9.9' } });
    const got = await w.next((e) => e.event === 'ECHOED');
    expect(got).toMatchObject({ topic: 'utils/echo', source: 'em@1.3', payload: '{"n":1}' });
    expect(got.uuid).not.toBe('');
    await listener.until(() => listener.events.length === 1);
    expect(emitter.events).toHaveLength(0);
  });

  it('WORKER_ERROR on topic admin is rewritten from the connection identity; other admin/router events from workers are dropped', async () => {
    const w = await watch({ topics: ['admin', 'router'] });
    const worker = await connectWorker(client, r.adminToken, { identifier: 'mailer-1', version: '2.1', commands: [] });
    worker.emit('WORKER_READY', { identifier: 'someone-else' }, 'admin');
    worker.emit('WORKER_REGISTERED', { identifier: 'fake' }, 'router');
    worker.emit('WORKER_ERROR', { message: 'token expired', isAuthError: true, identifier: 'someone-else' }, 'admin');
    const got = await w.next((e) => e.event === 'WORKER_ERROR');
    expect(JSON.parse(got.payload)).toEqual({ identifier: 'mailer-1', product: 'utils/echo', version: '2.1', reason: 'token expired', isAuthError: true });
    expect(w.events.filter((e) => e.event === 'WORKER_READY' || (e.event === 'WORKER_REGISTERED' && JSON.parse(e.payload).identifier === 'fake'))).toEqual([]);
  });

  it('event payloads are checked against the expectation\'s event schemas; bad ones are dropped', async () => {
    const w = await watch({ events: ['TICK'] });
    const worker = await connectWorker(client, r.adminToken, { identifier: 't', commands: [], event_schemas: { TICK: '{"type":"object","required":["n"]}' } });
    worker.emit('TICK', { nope: 1 });
    worker.write({ event: { event: 'TICK', payload: '{not json' } });
    worker.emit('TICK', { n: 2 });
    // one worker stream, one watch stream, both in order: the bad two would have arrived before the good one
    await w.next((e) => e.event === 'TICK');
    expect(w.events.map((e) => e.payload)).toEqual(['{"n":2}']);
  });

  it('the router publishes WORKER_REGISTERED and WORKER_DISCONNECTED on topic router; the admin subscribes by Hello.topics', async () => {
    const admin = new RawWorker(client, undefined, r.adminToken).hello({ identifier: 'admin', version: '0.1', commands: ['ADMIN_LIST_WORKERS'], topics: ['router'] });
    await admin.welcome;
    const worker = await connectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const isW = (e: { event: string; payload: string }, name: string): boolean => e.event === name && JSON.parse(e.payload).identifier === 'w';
    await admin.until(() => admin.events.some((e) => isW(e, 'WORKER_REGISTERED')));
    const registered = admin.events.find((e) => isW(e, 'WORKER_REGISTERED'))!;
    expect(registered.source).toBe('router');
    expect(JSON.parse(registered.payload)).toEqual({ identifier: 'w', version: '1.0', type: 'utils', product: 'echo', commands: ['ECHO'] });
    worker.call.cancel();
    await admin.until(() => admin.events.some((e) => isW(e, 'WORKER_DISCONNECTED')));
    expect(JSON.parse(admin.events.find((e) => isW(e, 'WORKER_DISCONNECTED'))!.payload)).toMatchObject({ identifier: 'w', version: '1.0', reason: 'cancelled by the peer' });
  });

  it('admin lifecycle events: the admin stream publishes on topic admin (source admin); clients may not use admin or router topics', async () => {
    const w = await watch({ topics: ['admin'] });
    const admin = new RawWorker(client, undefined, r.adminToken).hello({ identifier: 'admin', version: '0.1' });
    await admin.welcome;
    admin.emit('WORKER_READY', { identifier: 'utils-echo-1', product: 'utils/echo', version: '1.0' }, 'admin');
    expect((await w.next((e) => e.event === 'WORKER_READY')).source).toBe('admin');
    expect((await grpcErrorOf(unary(client, 'SendEvent', { topic: 'admin', event: 'WORKER_READY', payload: '{}' }, r.clientToken))).code).toBe(status.PERMISSION_DENIED);
    expect((await grpcErrorOf(unary(client, 'SendEvent', { topic: 'router', event: 'WORKER_REGISTERED', payload: '{}' }, r.adminToken))).code).toBe(status.PERMISSION_DENIED);
    expect((await grpcErrorOf(unary(client, 'SendEvent', { topic: 'x', event: 'E', payload: '{bad' }, r.clientToken))).code).toBe(status.INVALID_ARGUMENT);
    expect((await grpcErrorOf(unary(client, 'SendEvent', { topic: '', event: 'E', payload: '{}' }, r.clientToken))).code).toBe(status.INVALID_ARGUMENT);
  });
});
