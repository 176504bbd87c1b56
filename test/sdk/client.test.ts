// connectRouter against a real router (TCP port 0), with an in-process startWorker (injected stdin and exit); every
// send rule through both paths: SendCommands streams (the default) and unary SendCommand (`streaming: false`).
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodeOf, isWorkerAdminError } from '../../src/common/errors.js';
import { connectRouter, type RouterClient } from '../../src/sdk/client.js';
import { startWorker } from '../../src/sdk/worker.js';
import type { EventMessage, ReplyResult, RunningWorker } from '../../src/sdk/types.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

let router: TestRouter;
let client: RouterClient;
let unaryClient: RouterClient;
let worker: RunningWorker;
const exits: number[] = [];
let runs = 0;
let abortedWaits = 0;
const holds: Array<() => void> = [];

/** Announces and starts an in-process worker; its exit code lands in `exits`. */
async function inProcessWorker(identifier: string, tokenOverride?: string, heartbeatMs = 10_000): Promise<RunningWorker> {
  const token = randomBytes(24).toString('hex');
  const admin = connectRouter({ address: router.address, token: router.adminToken });
  await admin.rpc.expectWorker({ identifier, version: '2.1', type: 'test', product: 'inproc', token_sha256: createHash('sha256').update(token).digest('hex'), commands: ['COUNT'] });
  admin.close();
  const line = { identifier, target: router.address, token: tokenOverride ?? token, type: 'test', product: 'inproc', version: '2.1', config: {} };
  return startWorker({
    commands: {
      COUNT: () => ({ runs: ++runs }),
      HOLD: () => new Promise((resolve) => holds.push(() => resolve({ held: true }))),
      // answers well after its signal aborted, so the router's TIMEOUT (same deadline) is the reply even on a loaded machine
      WAIT: (_p, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => {
        abortedWaits += 1;
        setTimeout(() => resolve('aborted'), 3000);
      })),
    },
    events: ['TICK'],
    stdin: Readable.from([`${JSON.stringify(line)}\n`]),
    exit: (code) => void exits.push(code),
    stderr: { write: () => true },
    signals: [],
    heartbeatMs,
  });
}

beforeAll(async () => {
  router = await startTestRouter({ transport: 'tcp' });
  client = connectRouter({ address: router.address, token: router.clientToken });
  unaryClient = connectRouter({ address: router.address, token: router.clientToken, streaming: false });
  worker = await inProcessWorker('inproc-1');
});
afterAll(async () => {
  client?.close();
  unaryClient?.close();
  if (worker?.state === 'READY') await worker.drain('test over');
  await router?.close();
});

describe.each(['streaming', 'unary'] as const)('connectRouter, %s', (path) => {
  const sender = (): RouterClient => (path === 'streaming' ? client : unaryClient);

  it('send: parsed payload, replay of a uuid executes once, major pinning', async () => {
    const first = await sender().send('COUNT', {}, { uuid: `replay-me-${path}` });
    const again = await sender().send('COUNT', {}, { uuid: `replay-me-${path}` });
    expect(first).toMatchObject({ uuid: `replay-me-${path}`, status: 'SUCCESS', worker: 'inproc-1@2.1' });
    expect(again.payload).toEqual(first.payload);
    const wrongMajor = await sender().send('COUNT', {}, { major: 3, timeout: '200ms' });
    expect(wrongMajor.status).toBe('NO_WORKER');
    expect((await sender().send('COUNT', {}, { major: '2' })).status).toBe('SUCCESS');
  });

  it('send without a uuid: the one the library made is never remembered, so the caller sending it again runs it again', async () => {
    const first = await sender().send('COUNT', {});
    expect(first.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const again = await sender().send('COUNT', {}, { uuid: first.uuid });
    expect(again).toMatchObject({ uuid: first.uuid, status: 'SUCCESS' });
    expect((again.payload as { runs: number }).runs).toBe((first.payload as { runs: number }).runs + 1);
  });

  it('send: TIMEOUT after dispatch aborts the handler signal; unknown commands are NO_WORKER at once', async () => {
    const before = abortedWaits;
    const reply = await sender().send('WAIT', {}, { timeout: 150 });
    expect(reply.status).toBe('TIMEOUT');
    await expect.poll(() => abortedWaits, { timeout: 10_000 }).toBe(before + 1);
    expect((await sender().send('NOBODY_SERVES_THIS', {})).status).toBe('NO_WORKER');
  });

  it('the client token on an ADMIN_* command: unary rejects AUTH_INVALID, a stream answers INVALID UNAUTHENTICATED and goes on', async () => {
    const outcome = await sender().send('ADMIN_LIST_WORKERS', {}).catch((e: unknown) => e);
    if (path === 'unary') expect(isWorkerAdminError(outcome, 'AUTH_INVALID')).toBe(true);
    else expect(errorCodeOf((outcome as ReplyResult).error)).toBe('UNAUTHENTICATED');
    if (path === 'streaming') expect(outcome).toMatchObject({ status: 'INVALID' });
    expect((await sender().send('COUNT', {})).status).toBe('SUCCESS');
  });

  it('listWorkers shows the worker; a wrong token is AUTH_INVALID naming the call', async () => {
    const list = await sender().listWorkers();
    expect(list.workers.find((w) => w.identifier === 'inproc-1')).toMatchObject({ version: '2.1', state: 'READY' });
    const bad = connectRouter({ address: router.address, token: 'y'.repeat(40), streaming: path === 'streaming' });
    try {
      const error = await bad.send('COUNT', {}).catch((e: unknown) => e);
      expect(isWorkerAdminError(error, 'AUTH_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(path === 'streaming' ? /SendCommands failed with UNAUTHENTICATED/ : /SendCommand failed with UNAUTHENTICATED/);
    } finally {
      bad.close();
    }
  });
});

describe('connectRouter', () => {
  it('events(): an async iterable that ends cleanly on break; on() calls back per event name', async () => {
    const got: EventMessage[] = [];
    const off = client.on('TICK', (e) => got.push(e));
    const watch = await client.watch('test/inproc');
    await worker.emit('TICK', { n: 1 });
    await worker.emit('TICK', { n: 2 }, { topic: 'test/inproc', referenceUuid: 'ref-1' });
    const seen: EventMessage[] = [];
    for await (const e of watch) {
      seen.push(e);
      if (seen.length === 2) break;
    }
    expect(seen.map((e) => e.payload)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(seen[1]).toMatchObject({ topic: 'test/inproc', event: 'TICK', source: 'inproc-1@2.1', referenceUuid: 'ref-1' });
    expect(seen[0]!.timestampMs).toBeGreaterThan(0);
    for (const deadline = Date.now() + 15_000; got.length < 2 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
    off();
    expect(got.map((e) => e.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

describe('startWorker with injected stdin and exit', () => {
  it('refusal rejects with BAD_TOKEN after exit(2)', async () => {
    const before = exits.length;
    const error = await inProcessWorker('inproc-bad', 'z'.repeat(48)).catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'BAD_TOKEN')).toBe(true);
    expect(exits.slice(before)).toEqual([2]);
  });

  it('heartbeats (every 15 ms here) are accepted by the router alongside replies', async () => {
    const w = await inProcessWorker('inproc-beat', undefined, 15);
    await new Promise((r) => setTimeout(r, 120));
    expect(w.state).toBe('READY');
    expect((await client.send('COUNT', {}, { target: 'inproc-beat' })).status).toBe('SUCCESS');
    expect(await w.drain('test')).toBe(0);
  });

  it('drain(): waits for the handler in flight, then exit(0)', async () => {
    const w = await inProcessWorker('inproc-2');
    const before = exits.length;
    const pending = client.send('HOLD', {}, { target: 'inproc-2' });
    for (const deadline = Date.now() + 15_000; holds.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 10));
    const drained = w.drain('test');
    expect(w.state).toBe('DRAINING');
    holds.shift()!();
    expect(await drained).toBe(0);
    expect(await pending).toMatchObject({ status: 'SUCCESS', payload: { held: true }, worker: 'inproc-2@2.1' });
    expect(w.state).toBe('CLOSED');
    expect(exits.slice(before)).toEqual([0]);
    await expect(w.emit('TICK', {})).rejects.toThrow(/CLOSED/);
  });
});
