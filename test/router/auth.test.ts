// Auth: wrong, missing, reused and other-identifier tokens are refused; client token cannot do admin things.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRouterTokens } from '../../src/router/auth.js';
import { startTestRouter, makeToken, type TestRouter } from '../helpers/router.js';
import { connectWorker, expectWorker, grpcErrorOf, RawWorker, routerClient, sendCommand, unary, Watcher } from './raw.js';

describe('router auth', () => {
  let r: TestRouter;
  let client: Client;
  let watcher: Watcher;

  beforeEach(async () => {
    r = await startTestRouter({ timeouts: { helloMs: 500 } });
    client = routerClient(r.address);
    watcher = new Watcher(client, { topics: ['router'] }, r.adminToken);
    await watcher.ready;
  });
  afterEach(async () => {
    watcher.cancel();
    client.close();
    await r.close();
  });

  const verifyError = async (reason: string) => JSON.parse((await watcher.next((e) => e.event === 'WORKER_VERIFY_ERROR' && JSON.parse(e.payload).reason === reason)).payload);

  it('a wrong token: Welcome{valid:false, BAD_TOKEN}, UNAUTHENTICATED, WORKER_VERIFY_ERROR, nothing dispatched', async () => {
    await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const worker = new RawWorker(client, undefined).hello({ identifier: 'w', version: '1.0', token: 'not-the-token', commands: ['ECHO'] });
    expect(await worker.welcome).toEqual({ valid: false, reason: 'BAD_TOKEN', batching: false, event_batches: false });
    expect((await worker.status).code).toBe(status.UNAUTHENTICATED);
    expect(await verifyError('BAD_TOKEN')).toEqual({ identifier: 'w', version: '1.0', reason: 'BAD_TOKEN', detail: 'token does not match the expectation of w@1.0' });
    const reply = await sendCommand(client, { command: 'ECHO', timeout_ms: 200 }, r.clientToken);
    expect(reply.status).toBe('NO_WORKER');
    expect(worker.commands).toHaveLength(0);
  });

  it('a wrong attempt does not burn the expectation: the real worker still gets in', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const intruder = new RawWorker(client, undefined).hello({ identifier: 'w', version: '1.0', token: 'guess', commands: ['ECHO'] });
    expect((await intruder.welcome).valid).toBe(false);
    const real = new RawWorker(client, undefined).hello({ identifier: 'w', version: '1.0', token, commands: ['ECHO'] });
    expect((await real.welcome).valid).toBe(true);
  });

  it('a reused token is refused: single use', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: ['ECHO'] });
    const first = new RawWorker(client, undefined).hello({ identifier: 'w', version: '1.0', token, commands: ['ECHO'] });
    expect((await first.welcome).valid).toBe(true);
    const second = new RawWorker(client, undefined).hello({ identifier: 'w', version: '1.0', token, commands: ['ECHO'] });
    expect(await second.welcome).toEqual({ valid: false, reason: 'BAD_TOKEN', batching: false, event_batches: false });
    expect((await second.status).code).toBe(status.UNAUTHENTICATED);
  });

  it('a token is bound to its identifier and version', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'a', version: '1.0', commands: [] });
    await expectWorker(client, r.adminToken, { identifier: 'b', version: '1.0', commands: [] });
    const otherId = new RawWorker(client, undefined).hello({ identifier: 'b', version: '1.0', token });
    expect(await otherId.welcome).toEqual({ valid: false, reason: 'BAD_TOKEN', batching: false, event_batches: false });
    const otherVersion = new RawWorker(client, undefined).hello({ identifier: 'a', version: '1.1', token });
    expect(await otherVersion.welcome).toEqual({ valid: false, reason: 'BAD_TOKEN', batching: false, event_batches: false });
    // Still unused: the right identity gets in.
    const right = new RawWorker(client, undefined).hello({ identifier: 'a', version: '1.0', token });
    expect((await right.welcome).valid).toBe(true);
  });

  it('a missing token, no Hello at all, or another first message are refused', async () => {
    await expectWorker(client, r.adminToken, { identifier: 'w', version: '1.0', commands: [] });
    const empty = new RawWorker(client, undefined).hello({ identifier: 'w', version: '1.0', token: '' });
    expect(await empty.welcome).toEqual({ valid: false, reason: 'BAD_TOKEN', batching: false, event_batches: false });
    const silent = new RawWorker(client, undefined);
    expect(await silent.welcome).toEqual({ valid: false, reason: 'NO_HELLO', batching: false, event_batches: false });
    expect((await silent.status).code).toBe(status.UNAUTHENTICATED);
    const rude = new RawWorker(client, undefined);
    rude.write({ heartbeat: { timestamp_ms: 1 } });
    expect(await rude.welcome).toEqual({ valid: false, reason: 'HELLO_EXPECTED', batching: false, event_batches: false });
    await verifyError('NO_HELLO');
  });

  it('COMMANDS_MISSING: the Hello must serve every command of the pivot; FAILED_PRECONDITION', async () => {
    const token = await expectWorker(client, r.adminToken, { identifier: 'mail', version: '1.0', commands: ['SEND_MAIL', 'LIST_MAIL', 'PING'] });
    const worker = new RawWorker(client, undefined).hello({ identifier: 'mail', version: '1.0', token, commands: ['PING', 'EXTRA'] });
    expect(await worker.welcome).toEqual({ valid: false, reason: 'COMMANDS_MISSING: SEND_MAIL, LIST_MAIL', batching: false, event_batches: false });
    expect((await worker.status).code).toBe(status.FAILED_PRECONDITION);
    expect(await verifyError('COMMANDS_MISSING: SEND_MAIL, LIST_MAIL')).toMatchObject({ identifier: 'mail', version: '1.0' });
  });

  it('Connect with the client token or a wrong bearer is UNAUTHENTICATED at once', async () => {
    const asClient = new RawWorker(client, undefined, r.clientToken);
    expect((await asClient.status).code).toBe(status.UNAUTHENTICATED);
    const wrong = new RawWorker(client, undefined, makeToken());
    expect((await wrong.status).code).toBe(status.UNAUTHENTICATED);
  });

  it('the admin stream: admin bearer, empty Hello token, serves ADMIN_*; a worker cannot take ADMIN_* over', async () => {
    const admin = new RawWorker(client, (c, w) => w.reply(c.uuid, 'SUCCESS', { admin: true }), r.adminToken);
    admin.hello({ identifier: 'admin', version: '0.1', commands: ['ADMIN_LIST_WORKERS'], topics: ['router'] });
    expect((await admin.welcome).valid).toBe(true);
    const sneaky = await connectWorker(client, r.adminToken, { identifier: 'sneaky', commands: ['ADMIN_LIST_WORKERS', 'ECHO'] });
    for (let i = 0; i < 4; i += 1) {
      const reply = await sendCommand(client, { command: 'ADMIN_LIST_WORKERS' }, r.adminToken);
      expect(reply).toMatchObject({ status: 'SUCCESS', worker: 'admin@0.1' });
    }
    expect(sneaky.commands).toHaveLength(0);
  });

  it('unary calls: missing or wrong bearer UNAUTHENTICATED; the client token cannot do admin things', async () => {
    await connectWorker(client, r.adminToken, { identifier: 'w', commands: ['ECHO'] });
    expect((await grpcErrorOf(sendCommand(client, { command: 'ECHO' }, undefined))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(sendCommand(client, { command: 'ECHO' }, makeToken()))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(sendCommand(client, { command: 'ADMIN_STOP_ALL_WORKERS' }, r.clientToken))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(unary(client, 'ExpectWorker', { identifier: 'x', version: '1.0', token_sha256: 'a'.repeat(64) }, r.clientToken))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(unary(client, 'DrainWorker', { identifier: 'w', version: '' }, r.clientToken))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(unary(client, 'GetConfiguration', { type: 'utils', product: 'echo', major: '1', minor: '0' }, r.clientToken))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(unary(client, 'SaveConfiguration', { key: { type: 'utils', product: 'echo', major: '1', minor: '0' } }, r.clientToken))).code).toBe(status.UNAUTHENTICATED);
    expect((await grpcErrorOf(unary(client, 'ListWorkers', {}, undefined))).code).toBe(status.UNAUTHENTICATED);
    const bad = new Watcher(client, {}, 'x'.repeat(40));
    expect((await bad.status).code).toBe(status.UNAUTHENTICATED);
    // Allowed with the client token.
    expect((await sendCommand(client, { command: 'ECHO' }, r.clientToken)).status).toBe('SUCCESS');
    expect((await unary<{ workers: unknown[] }>(client, 'ListWorkers', {}, r.clientToken)).workers).toHaveLength(1);
  });

  it('without a client token only the admin token works', async () => {
    const lone = await startTestRouter({ clientToken: false });
    const c = routerClient(lone.address);
    try {
      expect((await grpcErrorOf(unary(c, 'ListWorkers', {}, lone.clientToken))).code).toBe(status.UNAUTHENTICATED);
      expect(await unary(c, 'ListWorkers', {}, lone.adminToken)).toMatchObject({ workers: [] });
    } finally {
      c.close();
      await lone.close();
    }
  });

  it('ExpectWorker refuses bad names, a bad digest and a bad schema with INVALID_ARGUMENT', async () => {
    const e = { identifier: 'ok', version: '1.0', token_sha256: 'a'.repeat(64) };
    expect((await grpcErrorOf(unary(client, 'ExpectWorker', { ...e, identifier: '../x' }, r.adminToken))).details).toMatch(/identifier/);
    expect((await grpcErrorOf(unary(client, 'ExpectWorker', { ...e, version: '1' }, r.adminToken))).details).toMatch(/version/);
    expect((await grpcErrorOf(unary(client, 'ExpectWorker', { ...e, token_sha256: 'abc' }, r.adminToken))).details).toMatch(/token_sha256/);
    const err = await grpcErrorOf(unary(client, 'ExpectWorker', { ...e, command_schemas: { X: '{"type": 12}' } }, r.adminToken));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/schema of command X is invalid/);
  });
});

describe('loadRouterTokens', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wa-tok-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const a = 'a'.repeat(32);
  const c = 'c'.repeat(40);

  it('takes the environment first, then --token-file, then credentials.json', async () => {
    await writeFile(join(dir, 'credentials.json'), JSON.stringify({ adminToken: 'f'.repeat(32), clientToken: 'g'.repeat(32) }));
    await writeFile(join(dir, 'tokens.json'), JSON.stringify({ adminToken: 'e'.repeat(32) }));
    expect(await loadRouterTokens({ env: { WORKER_ADMIN_TOKEN: a, WORKER_ADMIN_CLIENT_TOKEN: c }, tokenFile: join(dir, 'tokens.json'), stateDir: dir })).toEqual({ adminToken: a, clientToken: c });
    expect(await loadRouterTokens({ env: {}, tokenFile: join(dir, 'tokens.json'), stateDir: dir })).toEqual({ adminToken: 'e'.repeat(32), clientToken: 'g'.repeat(32) });
    expect(await loadRouterTokens({ env: {}, stateDir: dir })).toEqual({ adminToken: 'f'.repeat(32), clientToken: 'g'.repeat(32) });
  });

  it('no admin token anywhere: AUTH_INVALID naming the sources; a short token is refused', async () => {
    await expect(loadRouterTokens({ env: {}, stateDir: dir })).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/WORKER_ADMIN_TOKEN.*--token-file.*credentials\.json/) });
    await expect(loadRouterTokens({ env: { WORKER_ADMIN_TOKEN: 'short' }, stateDir: dir })).rejects.toMatchObject({ code: 'AUTH_INVALID', message: expect.stringMatching(/32\+ characters/) });
    await expect(loadRouterTokens({ env: { WORKER_ADMIN_TOKEN: a }, tokenFile: join(dir, 'missing.json'), stateDir: dir })).rejects.toMatchObject({ code: 'AUTH_INVALID' });
  });
});
