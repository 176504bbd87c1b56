// Server lifecycle: socket mode, stale socket, refusals at start, message size, close.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRouter } from '../../src/router/server.js';
import { testEnv } from '../helpers/env.js';
import { makeToken, startTestRouter } from '../helpers/router.js';
import { connectWorker, expectWorker, grpcErrorOf, routerClient, sendCommand, untilListed, Watcher } from './raw.js';

describe('router lifecycle', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wa-lc-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const base = () => ({ stateDir: join(dir, 'state'), adminToken: makeToken() });

  it('the unix socket is 0600 and the state dir 0700; the socket file is removed at close', async () => {
    const path = join(dir, 'state', 'router.sock');
    const router = await startRouter({ ...base(), listen: `unix:${path}` });
    expect(router.address).toBe(`unix:${path}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'state'))).mode & 0o777).toBe(0o700);
    await router.close();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a stale socket file (nothing answers) is removed at start; a live one is refused; a regular file is not touched', async () => {
    const path = join(dir, 'r.sock');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(path, resolve));
    await expect(startRouter({ ...base(), listen: `unix:${path}` })).rejects.toMatchObject({ code: 'ADDRESS_INVALID', message: expect.stringMatching(/another process is listening/) });
    // Closing a net server removes its socket; recreate a dead one by hand: bind, then leave the file behind.
    squatter.close();
    const { spawnSync } = await import('node:child_process');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { env: testEnv() });
    expect((await stat(path)).isSocket()).toBe(true);
    const router = await startRouter({ ...base(), listen: `unix:${path}` });
    await router.close();
    const file = join(dir, 'plain');
    await writeFile(file, 'keep me');
    await expect(startRouter({ ...base(), listen: `unix:${file}` })).rejects.toMatchObject({ code: 'ADDRESS_INVALID', message: expect.stringMatching(/not a socket/) });
  });

  it('refuses non-loopback TCP without insecure, short tokens, and the same token twice', async () => {
    await expect(startRouter({ ...base(), listen: '0.0.0.0:0' })).rejects.toMatchObject({ code: 'ADDRESS_INVALID', message: expect.stringMatching(/--insecure/) });
    const open = await startRouter({ ...base(), listen: '0.0.0.0:0', insecure: true });
    expect(open.address).toMatch(/^0\.0\.0\.0:\d+$/);
    await open.close();
    await expect(startRouter({ ...base(), listen: '127.0.0.1:0', adminToken: 'short' })).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    const same = makeToken();
    await expect(startRouter({ ...base(), listen: '127.0.0.1:0', adminToken: same, clientToken: same })).rejects.toMatchObject({ code: 'AUTH_INVALID' });
  });

  it('a message over limits.messageBytes is RESOURCE_EXHAUSTED, not a Reply', async () => {
    const r = await startTestRouter({ limits: { messageBytes: 64 * 1024 } });
    const client = routerClient(r.address);
    try {
      await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ECHO'] });
      const big = JSON.stringify({ s: 'x'.repeat(100 * 1024) });
      expect((await grpcErrorOf(sendCommand(client, { command: 'ECHO', payload: big }, r.clientToken))).code).toBe(status.RESOURCE_EXHAUSTED);
      expect((await sendCommand(client, { command: 'ECHO', payload: '{"s":"small"}' }, r.clientToken)).status).toBe('SUCCESS');
    } finally {
      client.close();
      await r.close();
    }
  });

  it('the observer hears every completed command and the queue size', async () => {
    const completed: Array<[string, string]> = [];
    const sizes: number[] = [];
    const r = await startTestRouter({ observer: { commandCompleted: (c, s, ms) => {
      completed.push([c, s]);
      expect(ms).toBeGreaterThanOrEqual(0);
    }, queueSize: (n) => void sizes.push(n) } });
    const client = routerClient(r.address);
    try {
      await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ECHO'] });
      await expectWorker(client, r.adminToken, { identifier: 'x', version: '1.0', commands: ['LATER'] });
      await sendCommand(client, { command: 'ECHO' }, r.clientToken);
      await sendCommand(client, { command: 'NOPE' }, r.clientToken);
      await sendCommand(client, { command: 'LATER', timeout_ms: 100 }, r.clientToken);
      expect(completed).toEqual([['ECHO', 'SUCCESS'], ['NOPE', 'NO_WORKER'], ['LATER', 'NO_WORKER']]);
      expect(sizes).toEqual([1, 0]);
    } finally {
      client.close();
      await r.close();
    }
  });

  it('ListWorkers shows connections, the queue and expected workers', async () => {
    const r = await startTestRouter();
    const client = routerClient(r.address);
    try {
      await connectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'], topics: ['t'] });
      await expectWorker(client, r.adminToken, { identifier: 'next', version: '2.0', commands: ['LATER'] });
      const pending = sendCommand(client, { command: 'LATER', timeout_ms: 3_000 }, r.clientToken);
      const list = await untilListed(client, r.clientToken, (l) => l.queue_size > 0);
      expect(list.queue_size).toBe(1);
      expect(list.expected).toEqual(['next@2.0']);
      expect(list.workers).toEqual([expect.objectContaining({ identifier: 'w', version: '1.0', type: 'utils', product: 'echo', state: 'READY', commands: ['ECHO'], topics: ['t'], in_flight: 0, admin: false })]);
      await pending;
    } finally {
      client.close();
      await r.close();
    }
  });

  it('close(): queued commands FAIL ROUTER_SHUTDOWN, in flight get a grace then ROUTER_SHUTDOWN, streams end, close is idempotent', async () => {
    const r = await startTestRouter();
    const client = routerClient(r.address);
    const worker = await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['HANG'], handler: () => undefined });
    await expectWorker(client, r.adminToken, { identifier: 'absent', version: '1.0', commands: ['WAIT'] });
    const watcher = new Watcher(client, {}, r.clientToken);
    await watcher.ready;
    const queued = sendCommand(client, { command: 'WAIT', timeout_ms: 20_000 }, r.clientToken);
    const inFlight = sendCommand(client, { command: 'HANG', timeout_ms: 20_000 }, r.clientToken);
    await worker.until(() => worker.commands.length === 1);
    const started = Date.now();
    const closing = r.router.close();
    expect(r.router.close()).toBe(closing);
    const q = await queued;
    expect(q.status).toBe('FAIL');
    expect(q.error).toMatch(/^ROUTER_SHUTDOWN/);
    const f = await inFlight;
    expect(f.status).toBe('FAIL');
    expect(f.error).toMatch(/^ROUTER_SHUTDOWN/);
    await closing;
    expect(Date.now() - started).toBeLessThan(2000 + 8000); // the 2 s grace, not the 20 s timeouts; slack for a loaded machine
    expect((await worker.status).code).toBe(status.UNAVAILABLE);
    expect((await watcher.status).code).toBe(status.OK);
    client.close();
    await r.close();
  });
});
