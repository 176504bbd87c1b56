// The router with real worker processes built on the SDK (test/fixtures/workers): load, drain, crash, refusals.
import { randomUUID } from 'node:crypto';
import type { Client } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reply, WorkerList } from '../../src/proto/types.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { killAllFixtureWorkers, spawnFixtureWorker } from '../helpers/workers.js';
import { routerClient, sendCommand, unary, untilListed, Watcher } from '../router/raw.js';

const ECHO_COMMANDS = ['ECHO', 'SLOW'];

describe.each(['unix', 'tcp'] as const)('router with SDK worker processes over %s', (transport) => {
  let r: TestRouter;
  let client: Client;

  beforeEach(async () => {
    r = await startTestRouter({ transport });
    client = routerClient(r.address);
  });
  afterEach(async () => {
    await killAllFixtureWorkers();
    client.close();
    await r.close();
  });

  const spawnEcho = async (identifier: string, version = '1.0') => {
    const w = await spawnFixtureWorker({ address: r.address, adminToken: r.adminToken, fixture: 'echo.mjs', identifier, version, commands: ECHO_COMMANDS });
    await w.waitForOutput(`ready ${identifier}@${version}`);
    return w;
  };

  it('1,000 concurrent commands to 2 echo workers: each gets exactly one reply, both take a share', async () => {
    await Promise.all([spawnEcho('echo-a'), spawnEcho('echo-b')]);
    const uuids = Array.from({ length: 1000 }, () => randomUUID());
    const replies: Reply[] = await Promise.all(uuids.map((uuid, n) => sendCommand(client, { command: 'ECHO', uuid, payload: JSON.stringify({ n }) }, r.clientToken)));
    expect(replies.filter((x) => x.status !== 'SUCCESS')).toEqual([]);
    expect(replies.map((x) => x.uuid)).toEqual(uuids);
    expect(replies.map((x) => JSON.parse(x.payload).n)).toEqual(uuids.map((_, n) => n));
    const byWorker = new Map<string, number>();
    for (const x of replies) byWorker.set(x.worker, (byWorker.get(x.worker) ?? 0) + 1);
    expect([...byWorker.keys()].sort()).toEqual(['echo-a@1.0', 'echo-b@1.0']);
    expect(Math.min(...byWorker.values())).toBeGreaterThan(200);
    const list = await unary<WorkerList>(client, 'ListWorkers', {}, r.clientToken);
    expect(list.workers.reduce((n, w) => n + w.served, 0)).toBe(1000);
    expect(list.workers.every((w) => w.in_flight === 0)).toBe(true);
  });

  it('a drained worker gets nothing new, finishes its in-flight commands and exits 0', async () => {
    const old = await spawnEcho('svc', '1.0');
    const slow = [1, 2, 3].map(() => sendCommand(client, { command: 'SLOW', payload: '{"ms":2000}' }, r.clientToken)); // long enough to be seen in flight on a loaded machine
    await untilListed(client, r.clientToken, (l) => l.workers.some((w) => w.identifier === 'svc' && w.in_flight === 3));
    await spawnEcho('svc', '1.1');
    expect(await unary(client, 'DrainWorker', { identifier: 'svc', version: '1.0' }, r.adminToken)).toMatchObject({ ok: true });
    const fresh = await Promise.all([1, 2, 3, 4, 5].map((n) => sendCommand(client, { command: 'ECHO', payload: JSON.stringify({ n }) }, r.clientToken)));
    expect(fresh.map((f) => f.worker)).toEqual(Array(5).fill('svc@1.1'));
    const finished = await Promise.all(slow);
    expect(finished.map((f) => [f.status, f.worker, f.payload])).toEqual(Array(3).fill(['SUCCESS', 'svc@1.0', '{"slept":2000}']));
    expect(await old.exited).toEqual({ code: 0, signal: null });
    const list = await unary<WorkerList>(client, 'ListWorkers', {}, r.clientToken);
    expect(list.workers.map((w) => `${w.identifier}@${w.version}`)).toEqual(['svc@1.1']);
  });

  it('a worker that crashes mid-command: FAIL WORKER_LOST at once, then WORKER_DISCONNECTED', async () => {
    const watcher = new Watcher(client, { topics: ['router'], events: ['WORKER_DISCONNECTED'] }, r.clientToken);
    await watcher.ready;
    const crashy = await spawnFixtureWorker({ address: r.address, adminToken: r.adminToken, fixture: 'crash-mid-command.mjs', identifier: 'crashy', commands: ['ECHO', 'CRASH'] });
    await crashy.waitForOutput('ready');
    expect((await sendCommand(client, { command: 'ECHO', payload: '{"a":1}' }, r.clientToken)).status).toBe('SUCCESS');
    const started = Date.now();
    const reply = await sendCommand(client, { command: 'CRASH', timeout_ms: 20_000 }, r.clientToken);
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^WORKER_LOST/);
    expect(reply.worker).toBe('crashy@1.0');
    expect(Date.now() - started).toBeLessThan(10_000); // at once: well inside the 20 s timeout, slack for a loaded machine
    expect((await crashy.exited).code).toBe(1);
    expect(JSON.parse((await watcher.next(() => true)).payload)).toMatchObject({ identifier: 'crashy', version: '1.0' });
    watcher.cancel();
  });

  it('a worker that ignores Drain still gets nothing new', async () => {
    const stubborn = await spawnFixtureWorker({ address: r.address, adminToken: r.adminToken, fixture: 'refuses-drain.mjs', identifier: 'stubborn', commands: ['ECHO'] });
    await stubborn.waitForOutput('welcome true');
    expect((await sendCommand(client, { command: 'ECHO' }, r.clientToken)).worker).toBe('stubborn@1.0');
    await unary(client, 'DrainWorker', { identifier: 'stubborn', version: '' }, r.adminToken);
    await stubborn.waitForOutput('drain received');
    expect((await sendCommand(client, { command: 'ECHO', timeout_ms: 300 }, r.clientToken)).status).toBe('NO_WORKER');
  });

  it('a worker missing pivot commands is refused (COMMANDS_MISSING) and exits 2; a wrong token exits 2', async () => {
    const watcher = new Watcher(client, { topics: ['router'], events: ['WORKER_VERIFY_ERROR'] }, r.adminToken);
    await watcher.ready;
    const missing = await spawnFixtureWorker({ address: r.address, adminToken: r.adminToken, fixture: 'missing-commands.mjs', identifier: 'partial', commands: ['ECHO', 'SEND_MAIL'] });
    expect((await missing.exited).code).toBe(2);
    expect(missing.output()).toMatch(/COMMANDS_MISSING: SEND_MAIL/);
    const forged = await spawnFixtureWorker({ address: r.address, adminToken: r.adminToken, fixture: 'echo.mjs', identifier: 'forged', commands: ECHO_COMMANDS, token: 'not-the-one-announced' });
    expect((await forged.exited).code).toBe(2);
    expect(forged.output()).toMatch(/BAD_TOKEN/);
    await watcher.next((e) => JSON.parse(e.payload).reason === 'BAD_TOKEN');
    await watcher.next((e) => JSON.parse(e.payload).reason === 'COMMANDS_MISSING: SEND_MAIL');
    watcher.cancel();
  });
});
