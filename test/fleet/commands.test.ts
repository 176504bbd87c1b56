// Three hosts as processes on one nats-server and one etcd: commands, pins, replay, admin@HOST and events across hosts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, headers } from '@nats-io/transport-node';
import type { LocalFleet } from '../../src/fleet/demo/local-fleet.js';
import type { Event } from '../../src/proto/types.js';
import { batchEntry, decodeBatch, encodeBatch } from '../../src/fleet/transport/batch-codec.js';
import { connectRouter } from '../../src/sdk/client.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { allThreadsStopped, fleetSkipReason, startFleetEngines, until, type FleetEngines } from './engines.js';

const skip = await fleetSkipReason();

describe.skipIf(skip !== undefined)('commands across hosts', () => {
  let engines: FleetEngines;
  let fleet: LocalFleet;
  const rpcs: RouterRpc[] = [];
  /** The NATS subjects of this file's fleet (the engines' first prefix), for the tests that play another host. */
  const SUBJECTS = `wa-test-${process.pid}-1.v1`;
  /** `host`'s incarnation, from its ops API. */
  const incarnationOf = async (host: string): Promise<string> =>
    ((await (await fetch(`http://${fleet.host(host).ops}/api/v1/fleet`)).json()) as { incarnation: string }).incarnation;
  const client = (host: string, admin = false): RouterRpc => {
    const rpc = createRouterRpc({ address: fleet.host(host).router, token: admin ? engines.tokens.admin : engines.tokens.client });
    rpcs.push(rpc);
    return rpc;
  };
  const send = async (rpc: RouterRpc, command: string, payload: unknown = {}, extra: Record<string, unknown> = {}) => {
    const reply = await rpc.sendCommand({ command, payload: JSON.stringify(payload), timeout_ms: 15_000, ...extra });
    return { ...reply, data: reply.payload ? (JSON.parse(reply.payload) as Record<string, unknown>) : null };
  };

  beforeAll(async () => {
    engines = await startFleetEngines();
    fleet = await engines.fleet({
      hosts: [
        { name: 'host-a' },
        { name: 'host-b', connectors: [{ type: 'tests', product: 'counter', versions: ['1.0'] }] },
        { name: 'host-c', connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hi' } }] },
      ],
    });
    // every host has seen the others' workers once B and C answer through A
    const a = client('host-a');
    await until(async () => (await send(a, 'ECHO', { warm: true })).status === 'SUCCESS' && (await send(a, 'TICK', {})).status === 'SUCCESS', 30_000, 'A serves ECHO (on C) and TICK (on B)');
  }, 120_000);

  afterAll(async () => {
    for (const rpc of rpcs) rpc.close();
    await engines?.close();
  }, 180_000);

  it('serves a command from A with the only worker on C, naming C\'s instance', async () => {
    const a = client('host-a');
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => send(a, 'ECHO', { i })));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 'SUCCESS'));
    expect(new Set(replies.map((r) => r.worker))).toEqual(new Set(['utils-echo-1@1.1']));
    expect(replies.map((r) => r.data?.['i'])).toEqual(replies.map((_, i) => i));
    const metrics = await (await fetch(`http://${fleet.host('host-a').ops}/metrics`)).text();
    expect(metrics).toMatch(/worker_admin_fleet_hosts\{status="live"\} 3/);
    expect(Number(/worker_admin_fleet_cross_host_commands_total\{outcome="answered"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(40);
    const status = (await (await fetch(`http://${fleet.host('host-c').ops}/api/v1/fleet`)).json()) as { hosts: Array<{ name: string; instances: Array<{ identifier: string }> }> };
    expect(status.hosts.find((h) => h.name === 'host-c')?.instances.map((i) => i.identifier)).toContain('utils-echo-1');
  });

  it('pins a target on another host', async () => {
    const a = client('host-a');
    const reply = await send(a, 'TICK', {}, { target: 'tests-counter-1' });
    expect(reply.status).toBe('SUCCESS');
    expect(reply.worker).toBe('tests-counter-1@1.0');
    const onC = await send(a, 'ECHO', {}, { target: 'utils-echo-1' });
    expect(onC.worker).toBe('utils-echo-1@1.1');
    const nowhere = await send(a, 'TICK', {}, { target: 'utils-echo-1', timeout_ms: 1500 });
    expect(nowhere.status).toBe('NO_WORKER');
  });

  it('replays a client uuid through a second router: the first reply, one execution', async () => {
    const uuid = randomUUID();
    const first = await send(client('host-a'), 'TICK', {}, { uuid, target: 'tests-counter-1' });
    expect(first.status).toBe('SUCCESS');
    const again = await send(client('host-c'), 'TICK', {}, { uuid, target: 'tests-counter-1' });
    expect(again).toEqual(first);
    const viaB = await send(client('host-b'), 'TICK', {}, { uuid, target: 'tests-counter-1' });
    expect(viaB).toEqual(first);
    const next = await send(client('host-a'), 'TICK', {}, { target: 'tests-counter-1' });
    expect(next.data?.['runs']).toBe(Number(first.data?.['runs']) + 1);
    const conflict = await send(client('host-c'), 'TICK', { other: true }, { uuid, target: 'tests-counter-1' });
    expect(conflict.status).toBe('INVALID');
    expect(conflict.error).toMatch(/^UUID_CONFLICT: /);
  });

  it('claims no uuid the streaming client made to match replies; claims one the caller gave, replayed elsewhere', async () => {
    const claims = async (): Promise<number> => {
      const metrics = await (await fetch(`http://${fleet.host('host-a').ops}/metrics`)).text();
      return Number(/worker_admin_fleet_claims_total\{result="won"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    const stream = connectRouter({ address: fleet.host('host-a').router, token: engines.tokens.client });
    try {
      const before = await claims();
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => stream.send('ECHO', { i })));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 'SUCCESS'));
      expect(replies.map((r) => (r.payload as { i?: number }).i)).toEqual(replies.map((_, i) => i));
      expect(await claims()).toBe(before);
      const uuid = randomUUID();
      const given = await stream.send('TICK', {}, { uuid, target: 'tests-counter-1' });
      expect(given.status).toBe('SUCCESS');
      expect(await claims()).toBe(before + 1);
      const again = await send(client('host-c'), 'TICK', {}, { uuid, target: 'tests-counter-1' });
      expect(again.payload).toBe(given.rawPayload);
    } finally {
      stream.close();
    }
  });

  it('sends ADMIN_* to another host\'s admin with admin@HOST', async () => {
    const reply = await send(client('host-a', true), 'ADMIN_LIST_WORKERS', {}, { target: 'admin@host-b' });
    expect(reply.status).toBe('SUCCESS');
    const workers = (reply.data?.['workers'] ?? []) as Array<{ identifier: string }>;
    expect(workers.map((w) => w.identifier)).toEqual(['tests-counter-1']);
    const unknown = await send(client('host-a', true), 'ADMIN_LIST_WORKERS', {}, { target: 'admin@host-z' });
    expect(unknown.status).toBe('FAIL');
    expect(unknown.error).toMatch(/^HOST_LOST: /);
  });

  it('refuses an identifier that runs on another host: IDENTIFIER_CONFLICT', async () => {
    const reply = await send(client('host-c', true), 'ADMIN_START_WORKER', { product: 'tests/counter', version: '1.0' }, { timeout_ms: 60_000 });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^IDENTIFIER_CONFLICT: tests-counter-1 runs on host host-b/);
    const list = await send(client('host-c', true), 'ADMIN_LIST_WORKERS');
    expect((list.data?.['workers'] as Array<{ identifier: string }>).map((w) => w.identifier)).toEqual(['utils-echo-1']);
  });

  it('refuses a forwarded ADMIN_* without a valid proof of the admin token', async () => {
    const nc = await connect({ servers: engines.nats.url });
    try {
      const incarnation = await incarnationOf('host-b');
      const inbox = `${SUBJECTS}.inbox.forger.x`;
      const answers: Array<{ envelope: Record<string, unknown> }> = [];
      const sub = nc.subscribe(`${inbox}.>`, { callback: (_e, msg) => void answers.push({ envelope: JSON.parse(msg.headers?.get('wa') ?? '{}') as Record<string, unknown> }) });
      await nc.flush();
      const h = headers();
      const envelope = {
        v: 1, id: 'forged1', from: { host: 'forger', incarnation: 'x' }, to: { host: 'host-b', incarnation }, ttlMs: 5000,
        command: { uuid: randomUUID(), command: 'ADMIN_STOP_ALL_WORKERS', timeout_ms: 5000, target: '', major: '', context: {} },
        proof: 'ab'.repeat(32),
      };
      h.set('wa', JSON.stringify(envelope));
      nc.publish(`${SUBJECTS}.host.host-b.cmd`, new TextEncoder().encode('{}'), { headers: h, reply: `${inbox}.forged1` });
      await expect.poll(() => answers.length, { timeout: 10_000 }).toBe(1);
      const reply = answers[0]!.envelope['reply'] as { status: string; error: string };
      expect(reply.status).toBe('INVALID');
      expect(reply.error).toMatch(/^UNAUTHENTICATED: /);
      sub.unsubscribe();
      // and nothing was stopped on host-b
      const list = await send(client('host-b', true), 'ADMIN_LIST_WORKERS');
      expect((list.data?.['workers'] as Array<{ state: string }>).map((w) => w.state)).toEqual(['READY']);
    } finally {
      await nc.close();
    }
  });

  it('serves a batch of commands from another host and answers them in batches to its inbox', async () => {
    const nc = await connect({ servers: engines.nats.url });
    try {
      const incarnation = await incarnationOf('host-b');
      const inbox = `${SUBJECTS}.inbox.batcher.y`;
      const answers = new Map<string, Record<string, unknown>>();
      const messages: string[] = [];
      const sub = nc.subscribe(`${inbox}.>`, {
        callback: (_e, msg) => {
          messages.push(msg.subject);
          for (const { item, payload } of decodeBatch(new TextDecoder().decode(msg.data))?.items ?? []) answers.set(String(item['id']), { ...item, payload });
        },
      });
      await nc.flush();
      const command = (name: string, extra: Record<string, unknown> = {}) => ({ uuid: randomUUID(), command: name, timeout_ms: 5000, target: '', major: '', context: {}, ...extra });
      const entries = [
        batchEntry({ id: 'tick1', ttlMs: 5000, command: command('TICK', { target: 'tests-counter-1' }) }, '{}'),
        batchEntry({ id: 'tick2', ttlMs: 5000, command: command('TICK', { target: 'tests-counter-1' }) }, '{"n":"日本"}'),
        batchEntry({ id: 'admin1', ttlMs: 5000, command: command('ADMIN_STOP_ALL_WORKERS') }, '{}'),
      ];
      const head = JSON.stringify({ v: 1, from: { host: 'batcher', incarnation: 'y' }, to: { host: 'host-b', incarnation } });
      nc.publish(`${SUBJECTS}.host.host-b.cmds`, new TextEncoder().encode(encodeBatch(head, entries)), { reply: `${inbox}.batch.1` });
      await expect.poll(() => answers.size, { timeout: 10_000 }).toBe(3);
      expect(new Set(messages)).toEqual(new Set([`${inbox}.batch.answers`]));
      for (const id of ['tick1', 'tick2']) {
        expect(answers.get(id)).toMatchObject({ kind: 'reply', reply: { status: 'SUCCESS', worker: 'tests-counter-1@1.0' } });
        expect(JSON.parse(String(answers.get(id)?.['payload']))).toHaveProperty('runs');
      }
      expect(answers.get('admin1')).toMatchObject({ kind: 'reply', reply: { status: 'INVALID', error: expect.stringMatching(/^UNAUTHENTICATED: /) as unknown } });
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
  });

  it('delivers an event to a watcher of every topic and one of its topic on another host once each; takes single events too', async () => {
    const every = client('host-a').watchEvents({ topics: [] });
    const one = client('host-a').watchEvents({ topics: ['tests-dedupe'] });
    const seen = { every: [] as Event[], one: [] as Event[] };
    every.on('data', (e: Event) => seen.every.push(e));
    one.on('data', (e: Event) => seen.one.push(e));
    for (const call of [every, one]) call.on('error', () => undefined);
    const tagged = (list: Event[], tag: string): number => list.filter((e) => e.topic === 'tests-dedupe' && (JSON.parse(e.payload) as { tag?: string }).tag === tag).length;
    const nc = await connect({ servers: engines.nats.url });
    try {
      // both watches are registered on A (and A subscribed) once a retried publish from C reaches both
      await expect.poll(async () => {
        await client('host-c').sendEvent({ topic: 'tests-dedupe', event: 'PING', payload: JSON.stringify({ tag: 'warm' }) });
        return tagged(seen.every, 'warm') > 0 && tagged(seen.one, 'warm') > 0;
      }, { timeout: 10_000, interval: 300 }).toBe(true);
      await client('host-c').sendEvent({ topic: 'tests-dedupe', event: 'PING', payload: JSON.stringify({ tag: 'once' }) });
      // a host that does not batch publishes each event alone on the events subject
      const h = headers();
      h.set('wa', JSON.stringify({ v: 1, from: { host: 'older', incarnation: 'z' }, event: { uuid: randomUUID(), topic: 'tests-dedupe', event: 'PING', reference_uuid: '', timestamp_ms: Date.now(), source: 'client' } }));
      nc.publish(`${SUBJECTS}.events`, new TextEncoder().encode(JSON.stringify({ tag: 'single' })), { headers: h });
      await client('host-c').sendEvent({ topic: 'tests-dedupe', event: 'PING', payload: JSON.stringify({ tag: 'after' }) });
      const counts = (): number[] => ['once', 'single', 'after'].flatMap((tag) => [tagged(seen.every, tag), tagged(seen.one, tag)]);
      await expect.poll(() => counts().every((n) => n > 0), { timeout: 10_000 }).toBe(true);
      expect(counts()).toEqual([1, 1, 1, 1, 1, 1]);
    } finally {
      every.cancel();
      one.cancel();
      await nc.close();
    }
  });

  it('delivers an event published on one host once to a watcher on another, admin events with their host', async () => {
    const watch = client('host-a').watchEvents({ topics: ['tests-fleet'] });
    const seen: Event[] = [];
    watch.on('data', (e: Event) => seen.push(e));
    watch.on('error', () => undefined);
    try {
      // the watch is registered on A before C publishes: retry the publish until A delivers it
      const marker = randomUUID();
      await expect.poll(async () => {
        await client('host-c').sendEvent({ topic: 'tests-fleet', event: 'PING', payload: JSON.stringify({ marker }) });
        return seen.length;
      }, { timeout: 10_000, interval: 300 }).toBeGreaterThan(0);
      // the watch now gets what C publishes: one more event, then a second one to know the first had time to repeat
      const count = (tag: string): number => seen.filter((e) => (JSON.parse(e.payload) as { tag?: string }).tag === tag).length;
      await client('host-c').sendEvent({ topic: 'tests-fleet', event: 'PING', payload: JSON.stringify({ marker, tag: 'once' }) });
      await client('host-c').sendEvent({ topic: 'tests-fleet', event: 'PING', payload: JSON.stringify({ marker, tag: 'after' }) });
      await expect.poll(() => count('after'), { timeout: 10_000 }).toBe(1);
      expect(count('once')).toBe(1);
    } finally {
      watch.cancel();
    }
  });

  it('registers a watch on A only once nats-server has A\'s subscription: what C publishes next reaches it at once', async () => {
    const a = client('host-a');
    const topic = `tests-fresh-${randomUUID().slice(0, 8)}`;
    const seen: Event[] = [];
    let registered = false;
    engines.nats.signal('SIGSTOP');
    try {
      await until(() => allThreadsStopped(engines.nats.pid), 10_000, 'nats-server stopped');
      const watch = a.watchEvents({ topics: [topic] });
      watch.on('data', (e: Event) => seen.push(e));
      watch.on('error', () => undefined);
      const headers = new Promise<void>((resolve) => watch.on('metadata', () => {
        registered = true;
        resolve();
      }));
      try {
        // A takes this call after the watch: headers sent at registration would have come before its reply
        await a.listWorkers();
        expect(registered).toBe(false);
      } finally {
        engines.nats.signal('SIGCONT');
      }
      await headers;
      // one publish, no retry: the watch is registered on every host now
      await client('host-c').sendEvent({ topic, event: 'PING', payload: JSON.stringify({ n: 1 }) });
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(1);
      expect(seen[0]).toMatchObject({ topic, event: 'PING', payload: '{"n":1}' });
      watch.cancel();
    } finally {
      engines.nats.signal('SIGCONT');
    }
  });

  it('carries admin events of another host to a watcher here, naming that host', async () => {
    const watch = client('host-a', true).watchEvents({ topics: ['admin'] });
    const seen: Event[] = [];
    watch.on('data', (e: Event) => seen.push(e));
    watch.on('error', () => undefined);
    try {
      // nothing newer than what host-c runs: its admin answers and publishes UPDATE_SKIPPED
      await expect.poll(async () => {
        const reply = await send(client('host-a', true), 'ADMIN_UPDATE', { product: 'utils/echo' }, { target: 'admin@host-c', timeout_ms: 30_000 });
        expect(reply.status).toBe('SUCCESS');
        return seen.filter((e) => e.event === 'UPDATE_SKIPPED').length;
      }, { timeout: 20_000, interval: 500 }).toBeGreaterThan(0);
      const skipped = seen.find((e) => e.event === 'UPDATE_SKIPPED')!;
      expect(JSON.parse(skipped.payload)).toMatchObject({ host: 'host-c', product: 'utils/echo' });
    } finally {
      watch.cancel();
    }
  });
});
