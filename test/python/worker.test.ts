// The Python SDK in real processes started by the admin: commands, events both ways, a topic, drain with commands in
// flight, cancellation on timeout, and the packaged launcher (a Python without grpcio hands over, or is named).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../src/sdk/types.js';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/stack.js';
import { PY_FIXTURES, PYTHON, SKIP_REASON, startPyStack, until, type PyStack } from './harness.js';

const ID = 'tests-pyecho-1';

describe.skipIf(!PYTHON)(`Python SDK worker started by the admin${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, () => {
  let t: PyStack;
  beforeAll(async () => {
    t = await startPyStack();
    const started = await t.send('ADMIN_START_WORKER', { product: 'tests/pyecho', version: '1.0', params: { label: 'snake' } });
    expect(started, started.error).toMatchObject({ status: 'SUCCESS' });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('serves commands: return → SUCCESS payload, raise → FAIL with the message, sync handlers, config from stdin', async () => {
    const echo = await t.client.send('PY_ECHO', { text: 'héllo', n: [1, 2] });
    expect(echo).toMatchObject({ status: 'SUCCESS', payload: { text: 'héllo', n: [1, 2] }, worker: `${ID}@1.0` });
    const fail = await t.client.send('PY_FAIL', { why: 'no luck' });
    expect(fail).toMatchObject({ status: 'FAIL', error: 'refused: no luck', payload: null });
    const sync = await t.client.send('PY_SLOW_SYNC', { ms: 10 });
    expect(sync).toMatchObject({ status: 'SUCCESS', payload: { slept: 10, sync: true } });
    const config = await t.client.send('PY_CONFIG', {});
    expect(config.payload).toEqual({ config: { label: 'snake' }, identifier: ID, version: '1.0' });
  });

  it('events both ways: an emitted event reaches a watcher; an event on a subscribed topic reaches the worker', async () => {
    const watch = await t.client.watch(['tests/pyecho']);
    const seen: EventMessage[] = [];
    const reading = (async () => {
      for await (const e of watch) {
        seen.push(e);
        if (seen.some((x) => x.event === 'PY_GOT')) break;
      }
    })();
    const emitted = await t.client.send('PY_EMIT', { k: 'v' });
    expect(emitted.status).toBe('SUCCESS');
    await until(async () => seen.some((e) => e.event === 'PY_EVENT'), 'PY_EVENT seen');
    expect(seen.find((e) => e.event === 'PY_EVENT')).toMatchObject({ payload: { k: 'v' }, referenceUuid: emitted.uuid, source: `${ID}@1.0` });
    await t.client.rpc.sendEvent({ topic: 'py-in', event: 'PING', payload: JSON.stringify({ x: 1 }) });
    await reading;
    expect(seen.find((e) => e.event === 'PY_GOT')?.payload).toEqual({ event: 'PING', payload: { x: 1 }, source: 'client' });
    watch.close();
  });

  it.each(['stream', 'unary'] as const)('the Python client (%s): send (SUCCESS and FAIL, 20 at once, ADMIN_* refused), a registered event watch, list_workers', async (path) => {
    const args = ['-B', join(ROOT, 'test/fixtures/python-client/client.py'), t.stack.router.address, ...(path === 'unary' ? ['--unary'] : [])];
    const child = spawn(PYTHON!, args, {
      cwd: join(ROOT, 'sdk/python'), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PYTHONPATH: join(ROOT, 'sdk/python') }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.end(`${t.stack.credentials.clientToken}\n`);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, err).toBe(0);
    const seen = JSON.parse(out) as { ok: { uuid: string }; [k: string]: unknown };
    expect(seen).toEqual({
      ok: { status: 'SUCCESS', payload: { emitted: true }, worker: `${ID}@1.0`, uuid: expect.any(String) },
      fail: { status: 'FAIL', error: 'refused: client' },
      event: { event: 'PY_EVENT', payload: { n: 7 }, reference_uuid: seen.ok.uuid },
      workers: expect.arrayContaining([ID]),
      echoes: Array.from({ length: 20 }, (_, i) => ['SUCCESS', i]),
      // the client token may not send ADMIN_*: a unary call is refused, a stream answers that command INVALID
      admin: path === 'unary' ? { raised: 'AUTH_INVALID' } : { status: 'INVALID', code: 'UNAUTHENTICATED' },
    });
  });

  it('a start line that is not JSON: the reason on stderr, exit 2', async () => {
    const child = spawn(PYTHON!, ['-B', join(PY_FIXTURES, 'tests/pyecho/1/0/worker/worker.py')], {
      cwd: join(ROOT, 'sdk/python'), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PYTHONPATH: join(ROOT, 'sdk/python') }, stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdin.end('not json\n');
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(2);
    expect(err).toMatch(/cannot start: stdin is not JSON/);
  });

  it('cancels a command on its timeout: async handlers are cancelled, sync ones see ctx.cancelled', async () => {
    const watch = await t.client.watch(['tests/pyecho'], { events: ['PY_CANCELLED'] });
    const cancelled: EventMessage[] = [];
    const reading = (async () => {
      for await (const e of watch) if (cancelled.push(e) === 2) break;
    })();
    const [hang, sync] = await Promise.all([t.client.send('PY_HANG', {}, { timeout: 300 }), t.client.send('PY_SLOW_SYNC', { ms: 30_000 }, { timeout: 300 })]);
    expect(hang.status).toBe('TIMEOUT');
    expect(sync.status).toBe('TIMEOUT');
    await reading;
    expect(cancelled.map((e) => e.payload).sort((a, b) => Number((a as { sync: boolean }).sync) - Number((b as { sync: boolean }).sync)))
      .toEqual([{ uuid: hang.uuid, sync: false }, { uuid: sync.uuid, sync: true }]);
    watch.close();
  });

  it('drains with commands in flight: every one answered SUCCESS, then the worker exits 0', async () => {
    const inFlight = [
      ...Array.from({ length: 4 }, (_, i) => t.client.send('PY_SLOW', { ms: 600 + i })),
      ...Array.from({ length: 2 }, (_, i) => t.client.send('PY_SLOW_SYNC', { ms: 600 + i })),
    ];
    await until(async () => (await t.rpc.listWorkers()).workers.find((w) => w.identifier === ID)?.in_flight === 6, '6 commands in flight');
    const stopped = await t.send('ADMIN_STOP_WORKER', { product: 'tests/pyecho' });
    expect(stopped).toMatchObject({ status: 'SUCCESS', data: { stopped: [ID] } });
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => [r.status, r.payload])).toEqual([
      ...[0, 1, 2, 3].map((i) => ['SUCCESS', { slept: 600 + i }]),
      ...[0, 1].map((i) => ['SUCCESS', { slept: 600 + i, sync: true }]),
    ]);
    const log = t.workerLog(ID);
    expect(log).toMatch(/DRAINING -> CLOSING: .*every reply sent, half-closing/);
    expect(log).toMatch(/CLOSING -> CLOSED: router ended the stream with OK after the drain/);
    expect(log).toContain('exiting with code 0');
  }, 30_000);
});
