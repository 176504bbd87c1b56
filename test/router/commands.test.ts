// Every Reply status for real, through a real router on a unix socket and on TCP port 0, with raw gRPC workers; each rule
// through both client paths: unary SendCommand and a SendCommands stream.
import { randomUUID } from 'node:crypto';
import type { Client } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/proto/types.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { connectWorker, PathSender, RawWorker, routerClient, untilListed, Watcher, expectWorker, type CommandPath } from './raw.js';

const CASES: Array<['unix' | 'tcp', CommandPath]> = [['unix', 'unary'], ['tcp', 'unary'], ['unix', 'stream'], ['tcp', 'stream']];

describe.each(CASES)('commands over %s, %s', (transport, path) => {
  let r: TestRouter;
  let client: Client;
  let sender: PathSender;
  const send: PathSender['send'] = (command, token) => sender.send(command, token);

  beforeEach(async () => {
    r = await startTestRouter({ transport, limits: { queue: 50 } });
    client = routerClient(r.address);
    sender = new PathSender(client, path);
  });
  afterEach(async () => {
    sender.close();
    client.close();
    await r.close();
  });

  it('binds where it says: an absolute unix path or 127.0.0.1 with a real port', () => {
    if (transport === 'unix') expect(r.address).toMatch(/^unix:\/.+router\.sock$/);
    else expect(r.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
  });

  it('SUCCESS from the worker, with Reply.worker = IDENTIFIER@VERSION and the uuid kept', async () => {
    const worker = await connectWorker(client, r.adminToken, { identifier: 'utils-echo-1', version: '1.2', commands: ['ECHO'] });
    const reply = await send({ command: 'ECHO', payload: '{"text":"hi"}', uuid: 'u-1' }, r.clientToken);
    expect(reply).toEqual({ uuid: 'u-1', status: 'SUCCESS', payload: '{"text":"hi"}', error: '', worker: 'utils-echo-1@1.2' });
    worker.call.end();
  });

  it('an empty uuid gets one from the router', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ECHO'] });
    const reply = await send({ command: 'ECHO', uuid: '' }, r.clientToken);
    expect(reply.status).toBe('SUCCESS');
    expect(reply.uuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('FAIL from the worker carries its error', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['BOOM'], handler: (c, w) => w.reply(c.uuid, 'FAIL', null, 'it broke') });
    const reply = await send({ command: 'BOOM' }, r.clientToken);
    expect(reply).toMatchObject({ status: 'FAIL', error: 'it broke', worker: 'w@1.0' });
  });

  it('a worker may answer SUCCESS or FAIL only (anything else is FAIL); the admin may also answer INVALID', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ODD'], handler: (c, w) => w.write({ reply: { uuid: c.uuid, status: 'INVALID', payload: '', error: '' } }) });
    const odd = await send({ command: 'ODD' }, r.clientToken);
    expect(odd).toMatchObject({ status: 'FAIL', error: 'REPLY_INVALID: worker replied with status INVALID' });
    const admin = new RawWorker(client, (c, w) => w.write({ reply: { uuid: c.uuid, status: 'INVALID', payload: '', error: 'product is required' } }), r.adminToken);
    admin.hello({ identifier: 'admin', version: '0.1', commands: ['ADMIN_START_WORKER'] });
    await admin.welcome;
    const refused = await send({ command: 'ADMIN_START_WORKER' }, r.adminToken);
    expect(refused).toMatchObject({ status: 'INVALID', error: 'product is required', worker: 'admin@0.1' });
  });

  it('TIMEOUT when the worker does not answer within timeout_ms after dispatch', async () => {
    const worker = await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['SLOW'], handler: () => undefined });
    const started = Date.now();
    const reply = await send({ command: 'SLOW', timeout_ms: 300 }, r.clientToken);
    expect(reply.status).toBe('TIMEOUT');
    expect(reply.worker).toBe('w@1.0');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(worker.commands).toHaveLength(1);
    // The worker got its remaining budget, not the full default.
    expect(worker.commands[0]!.timeout_ms).toBeLessThanOrEqual(300);
  });

  it('NO_WORKER at once for a command nobody declares', async () => {
    const started = Date.now();
    const reply = await send({ command: 'NOBODY', timeout_ms: 20_000 }, r.clientToken);
    expect(reply.status).toBe('NO_WORKER');
    expect(Date.now() - started).toBeLessThan(10_000); // at once: well inside the 20 s timeout, slack for a loaded machine
  });

  it('NO_WORKER at its deadline for a known command with no READY worker', async () => {
    await expectWorker(client, r.adminToken, { identifier: 'later', version: '1.0', commands: ['LATER'] });
    const started = Date.now();
    const reply = await send({ command: 'LATER', timeout_ms: 300 }, r.clientToken);
    expect(reply.status).toBe('NO_WORKER');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('a command queued before its expected worker connects is served when it does, in order', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'late', version: '1.0', commands: ['ECHO'] });
    const replies = [1, 2, 3].map((n) => send({ command: 'ECHO', payload: JSON.stringify({ n }), timeout_ms: 10_000 }, r.clientToken));
    await untilListed(client, r.clientToken, (l) => l.queue_size === 3); // all three wait in the queue
    const worker = new RawWorker(client, (c, w) => w.reply(c.uuid, 'SUCCESS', JSON.parse(c.payload)));
    worker.hello({ identifier: 'late', version: '1.0', token, commands: ['ECHO'] });
    const got = await Promise.all(replies);
    expect(got.map((g) => [g.status, g.payload])).toEqual([['SUCCESS', '{"n":1}'], ['SUCCESS', '{"n":2}'], ['SUCCESS', '{"n":3}']]);
    expect(worker.commands.map((c) => c.payload)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('INVALID for a payload that is not JSON', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ECHO'] });
    const reply = await send({ command: 'ECHO', payload: '{nope' }, r.clientToken);
    expect(reply.status).toBe('INVALID');
    expect(reply.error).toMatch(/not JSON/);
  });

  it('INVALID with ajv\'s message when the payload fails the schema of the worker picked', async () => {
    const schema = JSON.stringify({ type: 'object', required: ['to'], properties: { to: { type: 'string', format: 'email' } } });
    const worker = await connectWorker(client, r.adminToken, { identifier: 'mail', commands: ['SEND_MAIL'], command_schemas: { SEND_MAIL: schema } });
    const bad = await send({ command: 'SEND_MAIL', payload: '{"to":"not-an-address"}' }, r.clientToken);
    expect(bad.status).toBe('INVALID');
    expect(bad.error).toMatch(/must match format "email"/);
    const missing = await send({ command: 'SEND_MAIL', payload: '{}' }, r.clientToken);
    expect(missing.error).toMatch(/must have required property 'to'/);
    const good = await send({ command: 'SEND_MAIL', payload: '{"to":"a@example.com"}' }, r.clientToken);
    expect(good.status).toBe('SUCCESS');
    expect(worker.commands).toHaveLength(1);
  });

  it('a replayed uuid executes once: same reply while pending and after, UUID_CONFLICT with another payload', async () => {
    const worker = await connectWorker(client, r.adminToken, {
      identifier: 'w', commands: ['ONCE'],
      handler: (c, w) => void setTimeout(() => w.reply(c.uuid, 'SUCCESS', { run: w.commands.length }), 200),
    });
    const uuid = randomUUID();
    const [a, b] = await Promise.all([
      send({ command: 'ONCE', uuid, payload: '{"x":1}' }, r.clientToken),
      send({ command: 'ONCE', uuid, payload: '{"x":1}' }, r.clientToken),
    ]);
    const c = await send({ command: 'ONCE', uuid, payload: '{"x":1}' }, r.clientToken);
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect(a.payload).toBe('{"run":1}');
    expect(worker.commands).toHaveLength(1);
    const conflict = await send({ command: 'ONCE', uuid, payload: '{"x":2}' }, r.clientToken);
    expect(conflict.status).toBe('INVALID');
    expect(conflict.error).toMatch(/^UUID_CONFLICT/);
    expect(worker.commands).toHaveLength(1);
  });

  it('a uuid marked generated_uuid is not remembered: sent again after its reply it runs again; while pending, UUID_CONFLICT', async () => {
    const worker = await connectWorker(client, r.adminToken, {
      identifier: 'w', commands: ['ONCE'],
      handler: (c, w) => void setTimeout(() => w.reply(c.uuid, 'SUCCESS', { run: w.commands.length }), 200),
    });
    const uuid = randomUUID();
    // the second on a stream of its own: one stream matches its replies by uuid
    const other = new PathSender(client, path);
    const [a, b] = await Promise.all([
      send({ command: 'ONCE', uuid, payload: '{"x":1}', generated_uuid: true }, r.clientToken),
      other.send({ command: 'ONCE', uuid, payload: '{"x":1}', generated_uuid: true }, r.clientToken),
    ]);
    other.close();
    expect(a).toMatchObject({ uuid, status: 'SUCCESS', payload: '{"run":1}' });
    expect(b.status).toBe('INVALID');
    expect(b.error).toMatch(/^UUID_CONFLICT: uuid \S+ is marked generated_uuid but a command with it is still pending/);
    const again = await send({ command: 'ONCE', uuid, payload: '{"x":1}', generated_uuid: true }, r.clientToken);
    expect(again).toMatchObject({ uuid, status: 'SUCCESS', payload: '{"run":2}' });
    expect(worker.commands).toHaveLength(2);
    // the same uuid unmarked is a caller's uuid: remembered from then on
    const kept = await send({ command: 'ONCE', uuid, payload: '{"x":1}' }, r.clientToken);
    expect(await send({ command: 'ONCE', uuid, payload: '{"x":1}' }, r.clientToken)).toEqual(kept);
    expect(worker.commands).toHaveLength(3);
  });

  it('FAIL QUEUE_FULL when the bounded queue is full, with a QUEUE_FULL event on topic router', async () => {
    await expectWorker(client, r.adminToken, { identifier: 'absent', version: '1.0', commands: ['WAIT'] });
    const watcher = new Watcher(client, { topics: ['router'] }, r.clientToken);
    await watcher.ready;
    // timeouts long enough that none of the 50 leaves the queue before the 51st arrives, even on a loaded machine
    const waiting = Array.from({ length: 50 }, () => send({ command: 'WAIT', timeout_ms: 5_000 }, r.clientToken));
    await untilListed(client, r.clientToken, (l) => l.queue_size === 50);
    const full = await send({ command: 'WAIT', timeout_ms: 5_000 }, r.clientToken);
    expect(full.status).toBe('FAIL');
    expect(full.error).toMatch(/^QUEUE_FULL/);
    const event = await watcher.next((e) => e.event === 'QUEUE_FULL');
    expect(JSON.parse(event.payload)).toMatchObject({ command: 'WAIT', limit: 50 });
    const rest = await Promise.all(waiting);
    expect(new Set(rest.map((x) => x.status))).toEqual(new Set(['NO_WORKER']));
    watcher.cancel();
  });

  it('FAIL WORKER_LOST at once for each command in flight when the stream ends', async () => {
    const worker = await connectWorker(client, r.adminToken, { identifier: 'crashy', commands: ['HANG'], handler: () => undefined });
    const replies = [1, 2, 3].map(() => send({ command: 'HANG', timeout_ms: 20_000 }, r.clientToken));
    await worker.until(() => worker.commands.length === 3);
    const started = Date.now();
    worker.call.cancel();
    const got = await Promise.all(replies);
    expect(Date.now() - started).toBeLessThan(10_000); // at once: well inside the 20 s timeout, slack for a loaded machine
    for (const reply of got) {
      expect(reply.status).toBe('FAIL');
      expect(reply.error).toMatch(/^WORKER_LOST/);
      expect(reply.worker).toBe('crashy@1.0');
    }
  });

  it('1,000 concurrent commands to 2 workers: each gets exactly one reply, both workers share the load', async () => {
    const a = await connectWorker(client, r.adminToken, { identifier: 'a', commands: ['ECHO'] });
    const b = await connectWorker(client, r.adminToken, { identifier: 'b', commands: ['ECHO'] });
    const uuids = Array.from({ length: 1000 }, () => randomUUID());
    const replies: Reply[] = await Promise.all(uuids.map((uuid, n) => send({ command: 'ECHO', uuid, payload: JSON.stringify({ n }) }, r.clientToken)));
    expect(replies.every((x) => x.status === 'SUCCESS')).toBe(true);
    expect(replies.map((x) => x.uuid)).toEqual(uuids);
    expect(replies.map((x) => JSON.parse(x.payload).n)).toEqual(uuids.map((_, n) => n));
    expect(a.commands.length + b.commands.length).toBe(1000);
    expect(new Set([...a.commands, ...b.commands].map((c) => c.uuid)).size).toBe(1000);
    expect(Math.min(a.commands.length, b.commands.length)).toBeGreaterThan(250);
  });

  it('dispatch goes to the fewest in flight; target pins an identifier, major a major version', async () => {
    const v1 = await connectWorker(client, r.adminToken, { identifier: 'one', version: '1.4', commands: ['WHO'], handler: (c, w) => w.reply(c.uuid, 'SUCCESS', 'one') });
    const v2 = await connectWorker(client, r.adminToken, { identifier: 'two', version: '2.0', commands: ['WHO'], handler: (c, w) => w.reply(c.uuid, 'SUCCESS', 'two') });
    for (let i = 0; i < 5; i += 1) {
      expect((await send({ command: 'WHO', target: 'two' }, r.clientToken)).worker).toBe('two@2.0');
      expect((await send({ command: 'WHO', major: '1' }, r.clientToken)).worker).toBe('one@1.4');
    }
    const none = await send({ command: 'WHO', major: '3', timeout_ms: 200 }, r.clientToken);
    expect(none.status).toBe('NO_WORKER');
    // Least in flight: a worker holding commands gets none of the next ones.
    v1.setHandler(() => undefined);
    const held = [1, 2].map(() => send({ command: 'WHO', target: 'one', timeout_ms: 2000 }, r.clientToken));
    await v1.until(() => v1.commands.length === 7);
    const before = v2.commands.length;
    for (let i = 0; i < 3; i += 1) expect((await send({ command: 'WHO' }, r.clientToken)).worker).toBe('two@2.0');
    expect(v2.commands.length).toBe(before + 3);
    v1.call.cancel();
    await Promise.all(held);
  });
});
