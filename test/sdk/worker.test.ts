// startWorker in real fixture processes against a real router: handshake, refusals, replies, events, drain, loss of the router.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRouter, type RouterClient } from '../../src/sdk/client.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { collectEvents, killAllFixtureWorkers, spawnFixtureWorker } from '../helpers/workers.js';

let router: TestRouter;
let client: RouterClient;
let admin: RouterClient;
let n = 0;
const id = (prefix: string): string => `${prefix}-${++n}`;

beforeAll(async () => {
  router = await startTestRouter();
  client = connectRouter({ address: router.address, token: router.clientToken });
  admin = connectRouter({ address: router.address, token: router.adminToken });
});
afterEach(async () => {
  await killAllFixtureWorkers();
});
afterAll(async () => {
  client?.close();
  admin?.close();
  await killAllFixtureWorkers();
  await router?.close();
});

const echo = async (identifier: string, extra: { commands?: string[]; config?: Record<string, unknown> } = {}) => {
  const w = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'echo.mjs', identifier, ...extra });
  await w.waitForOutput(`ready ${identifier}@1.0`);
  return w;
};

describe('startWorker in a real process', () => {
  it('serves commands: return value → SUCCESS, throw → FAIL with the message, config from stdin', async () => {
    const identifier = id('echo');
    await echo(identifier, { commands: ['ECHO', 'SLOW'], config: { greeting: 'hello' } });
    const ok = await client.send('ECHO', { text: 'hi' }, { target: identifier });
    expect(ok).toMatchObject({ status: 'SUCCESS', payload: { text: 'hi' }, error: '', worker: `${identifier}@1.0` });
    expect(ok.rawPayload).toBe('{"text":"hi"}');
    const fail = await client.send('FAIL', { message: 'no luck' }, { target: identifier });
    expect(fail).toMatchObject({ status: 'FAIL', error: 'no luck', payload: null });
    const cfg = await client.send('CONFIG', {}, { target: identifier });
    expect(cfg.payload).toEqual({ config: { greeting: 'hello' }, identifier, version: '1.0' });
  });

  it('refused with a bad token: prints the reason and exits 2', async () => {
    const w = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'echo.mjs', identifier: id('bad'), token: 'x'.repeat(48) });
    expect(await w.exited).toEqual({ code: 2, signal: null });
    expect(w.output()).toMatch(/BAD_TOKEN|UNAUTHENTICATED/);
  });

  it('refused when a pivot command is missing: COMMANDS_MISSING, exit 2', async () => {
    const w = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'missing-commands.mjs', identifier: id('missing'), commands: ['ECHO', 'SEND_MAIL'] });
    expect(await w.exited).toEqual({ code: 2, signal: null });
    expect(w.output()).toMatch(/COMMANDS_MISSING: SEND_MAIL/);
  });

  it('emit reaches a watcher on {type}/{product}; reportError is WORKER_ERROR on topic admin', async () => {
    const identifier = id('emit');
    const watch = await collectEvents(admin, ['test/echo', 'admin']);
    try {
      await echo(identifier);
      const reply = await client.send('ECHO', { n: 7 }, { target: identifier });
      const echoed = await watch.waitFor((e) => e.event === 'ECHOED' && e.source === `${identifier}@1.0`);
      expect(echoed).toMatchObject({ topic: 'test/echo', payload: { uuid: reply.uuid, payload: { n: 7 } } });
      await client.send('REPORT_ERROR', { message: 'token expired', isAuthError: true }, { target: identifier });
      const error = await watch.waitFor((e) => e.event === 'WORKER_ERROR');
      expect(error).toMatchObject({ topic: 'admin', payload: { identifier, version: '1.0', reason: 'token expired', isAuthError: true } });
    } finally {
      watch.close();
    }
  });

  it('drain: the 20 in-flight replies are delivered, nothing new is taken, exit 0', async () => {
    const identifier = id('drain');
    const w = await echo(identifier);
    const slow = Array.from({ length: 20 }, (_, i) => client.send('SLOW', { ms: 500 + i * 10 }, { target: identifier }));
    await waitInFlight(identifier, 20);
    await admin.rpc.drainWorker({ identifier, version: '' });
    const late = await client.send('ECHO', {}, { target: identifier, timeout: 300 });
    expect(late.status).toBe('NO_WORKER');
    const replies = await Promise.all(slow);
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill('SUCCESS'));
    expect(replies[19]).toMatchObject({ payload: { slept: 690 }, worker: `${identifier}@1.0` });
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM drains the same way: the in-flight reply is not lost, exit 0', async () => {
    const identifier = id('term');
    const w = await echo(identifier);
    const slow = client.send('SLOW', { ms: 500 }, { target: identifier });
    await waitInFlight(identifier);
    w.kill('SIGTERM');
    expect(await slow).toMatchObject({ status: 'SUCCESS', payload: { slept: 500 } });
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });

  it('a crash mid-command is FAIL WORKER_LOST; topic subscribers get the events of their topic', async () => {
    const crashId = id('crash');
    const crash = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'crash-mid-command.mjs', identifier: crashId });
    await crash.waitForOutput('ready');
    expect(await client.send('CRASH', {}, { target: crashId })).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/WORKER_LOST/) });
    expect((await crash.exited).code).toBe(1);

    const identifier = id('listener');
    const listener = await spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture: 'topic-listener.mjs', identifier });
    await listener.waitForOutput(`ready ${identifier}`);
    await client.rpc.sendEvent({ topic: 'billing', event: 'INVOICE', payload: '{"amount":3}' });
    await client.rpc.sendEvent({ topic: 'other', event: 'IGNORED', payload: '{}' });
    let seen: unknown = [];
    for (let i = 0; i < 50 && (seen as unknown[]).length === 0; i++) {
      seen = (await client.send('SEEN', {}, { target: identifier })).payload;
      if ((seen as unknown[]).length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toEqual([{ topic: 'billing', event: 'INVOICE', payload: { amount: 3 }, source: 'client' }]);
  });
});

describe('fixtures other tests rely on', () => {
  it('refuses-drain ignores Drain and keeps serving until a signal; never-hello never connects; exits-at-once exits 1', async () => {
    const spawnIt = (fixture: string, identifier: string, config?: Record<string, unknown>) =>
      spawnFixtureWorker({ address: router.address, adminToken: router.adminToken, fixture, identifier, ...(config ? { config } : {}) });
    const [stubbornId, silentId] = [id('stubborn'), id('silent')];
    const stubborn = await spawnIt('refuses-drain.mjs', stubbornId);
    const silent = await spawnIt('never-hello.mjs', silentId);
    const quitter = await spawnIt('exits-at-once.mjs', id('quitter'));
    await stubborn.waitForOutput('welcome true');
    await admin.rpc.drainWorker({ identifier: stubbornId, version: '' });
    await stubborn.waitForOutput('drain received, ignoring it');
    await silent.waitForOutput('read the start line');
    expect((await quitter.exited).code).toBe(1);
    const list = await admin.listWorkers();
    expect(list.workers.find((w) => w.identifier === stubbornId)?.state).toBe('DRAINING');
    expect(list.workers.some((w) => w.identifier === silentId)).toBe(false);
    stubborn.kill('SIGTERM');
    expect((await stubborn.exited).signal).toBe('SIGTERM');
  });
});

describe('when the router goes away', () => {
  it('the worker says why and exits 1', async () => {
    const own = await startTestRouter();
    try {
      const w = await spawnFixtureWorker({ address: own.address, adminToken: own.adminToken, fixture: 'echo.mjs', identifier: 'orphan' });
      await w.waitForOutput('ready orphan@1.0');
      await own.close();
      expect(await w.exited).toEqual({ code: 1, signal: null });
      expect(w.output()).toMatch(/router stream ended unexpectedly/);
    } finally {
      await own.close();
    }
  });
});

/** Waits until the router counts a command in flight on `identifier` (so a drain really races a running handler). */
async function waitInFlight(identifier: string, count = 1): Promise<void> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
    const list = await admin.listWorkers();
    if (list.workers.some((w) => w.identifier === identifier && w.in_flight >= count)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not ${count} commands in flight on ${identifier}`);
}
