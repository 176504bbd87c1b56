// Bad commands and bad credentials at the router of a running stack: each refused with its exact status and reason,
// nothing executed or started, utils/echo still READY and serving other clients. Commands go through both client
// paths: unary SendCommand and a SendCommands stream.
import type { Client } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectWorker, grpcErrorOf, oneTimeToken, PathSender, RawWorker, routerClient, unary } from '../router/raw.js';
import { startAdversary, type Adversary } from './harness.js';

let adv: Adversary;
let raw: Client;
const opened: RawWorker[] = [];
beforeAll(async () => {
  adv = await startAdversary();
  raw = routerClient(adv.stack.router.address);
});
afterAll(async () => {
  for (const w of opened) w.call.cancel();
  raw?.close();
  await adv?.close();
});

/** Runs `check` with a sender of each path (unary, then a stream), each closed after. */
async function throughBothPaths(check: (sender: PathSender) => Promise<void>): Promise<void> {
  for (const path of ['unary', 'stream'] as const) {
    const sender = new PathSender(raw, path);
    try {
      await check(sender);
    } finally {
      sender.close();
    }
  }
}

/** A refused command, through both paths: Reply status and error part, then nothing changed. */
async function refusedCommand(command: string, payload: string, expected: { status: string; error: RegExp }, token = adv.clientToken): Promise<void> {
  await throughBothPaths(async (sender) => {
    const before = await adv.snapshot();
    const reply = await sender.send({ command, payload, timeout_ms: 5_000 }, token);
    expect(reply.status).toBe(expected.status);
    expect(reply.error).toMatch(expected.error);
    await adv.expectUnchanged(before);
  });
}

/** A command refused with a gRPC status, through both paths (`details` gets the call's name), then nothing changed. */
async function refusedSend(command: string, payload: string, token: string | undefined, code: status, details: (rpc: string) => RegExp): Promise<void> {
  await throughBothPaths((sender) => refusedCall(() => sender.send({ command, payload }, token), code, details(sender.rpc)));
}

/** A refused call: gRPC status code and details part, then nothing changed. */
async function refusedCall(call: () => Promise<unknown>, code: status, details: RegExp): Promise<void> {
  const before = await adv.snapshot();
  const error = await grpcErrorOf(call());
  expect(error.code).toBe(code);
  expect(error.details).toMatch(details);
  await adv.expectUnchanged(before);
}

/** A Hello refused with BAD_TOKEN (Welcome{valid:false}, then UNAUTHENTICATED), then nothing changed. */
async function refusedHello(hello: Parameters<RawWorker['hello']>[0]): Promise<void> {
  const before = await adv.snapshot();
  const worker = new RawWorker(raw, undefined);
  opened.push(worker);
  worker.hello(hello);
  expect(await worker.welcome).toEqual({ valid: false, reason: 'BAD_TOKEN', batching: false, event_batches: false });
  expect(await worker.status).toMatchObject({ code: status.UNAUTHENTICATED, details: 'BAD_TOKEN' });
  await adv.expectUnchanged(before);
}

describe('adversarial: payloads', () => {
  it('a payload that is not JSON', async () => {
    await refusedCommand('ECHO', '{"text": ', { status: 'INVALID', error: /^PAYLOAD_INVALID: payload of ECHO is not JSON: / });
  });

  it('a payload that fails the pivot schema', async () => {
    await refusedCommand('SLOW', '{"ms":"soon"}', { status: 'INVALID', error: /payload of SLOW does not match the schema of utils-echo-1@1\.1: payload\/ms must be integer/ });
  });

  it('a 5 MiB payload: RESOURCE_EXHAUSTED from gRPC, not a Reply', async () => {
    const payload = JSON.stringify({ blob: 'x'.repeat(5 * 1024 * 1024) });
    await refusedSend('ECHO', payload, adv.clientToken, status.RESOURCE_EXHAUSTED, () => /larger than max/);
  });

  it('deep-nested JSON (100 levels, limit 64)', async () => {
    await refusedCommand('ECHO', `${'['.repeat(100)}${']'.repeat(100)}`, {
      status: 'INVALID', error: /^LIMIT_EXCEEDED: payload of ECHO is nested more than 64 levels deep \(limit payloadDepth = 64\)/,
    });
  });

  it('an unknown command', async () => {
    await refusedCommand('NO_SUCH_COMMAND', '{}', { status: 'NO_WORKER', error: /no worker serves NO_SUCH_COMMAND/ });
  });

  it('a command name that is a path', async () => {
    await refusedCommand('../ECHO', '{}', { status: 'INVALID', error: /command "\.\.\/ECHO" is invalid/ });
  });

  it('an event with a deep-nested payload', async () => {
    const event = { topic: 'news', event: 'DEEP', payload: `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`, uuid: '', reference_uuid: '', timestamp_ms: 0, source: '' };
    await refusedCall(() => unary(raw, 'SendEvent', event, adv.clientToken), status.INVALID_ARGUMENT, /LIMIT_EXCEEDED: payload of event DEEP is nested more than 64 levels/);
  });

  it('an event on the reserved topic router', async () => {
    const event = { topic: 'router', event: 'WORKER_REGISTERED', payload: '{}', uuid: '', reference_uuid: '', timestamp_ms: 0, source: '' };
    await refusedCall(() => unary(raw, 'SendEvent', event, adv.adminToken), status.PERMISSION_DENIED, /topic router is reserved for the router/);
  });
});

describe('adversarial: tokens', () => {
  it('no token', async () => {
    await refusedSend('ECHO', '{}', undefined, status.UNAUTHENTICATED, (rpc) => new RegExp(`^${rpc} needs "authorization: Bearer TOKEN" metadata`));
  });

  it('a short token', async () => {
    await refusedSend('ECHO', '{}', 'short', status.UNAUTHENTICATED, (rpc) => new RegExp(`^${rpc}: the bearer token is not valid`));
  });

  it('a wrong token of the right length', async () => {
    await refusedSend('ECHO', '{}', 'f'.repeat(64), status.UNAUTHENTICATED, (rpc) => new RegExp(`^${rpc}: the bearer token is not valid`));
  });

  it('the client token on an ADMIN_* command: unary UNAUTHENTICATED, a stream a Reply INVALID UNAUTHENTICATED', async () => {
    await refusedCall(() => new PathSender(raw, 'unary').send({ command: 'ADMIN_STOP_ALL_WORKERS' }, adv.clientToken), status.UNAUTHENTICATED, /SendCommand ADMIN_STOP_ALL_WORKERS needs the admin token/);
    const stream = new PathSender(raw, 'stream');
    try {
      const before = await adv.snapshot();
      const reply = await stream.send({ command: 'ADMIN_STOP_ALL_WORKERS' }, adv.clientToken);
      expect(reply).toMatchObject({ status: 'INVALID', error: 'UNAUTHENTICATED: SendCommands ADMIN_STOP_ALL_WORKERS needs the admin token' });
      // the stream stays open: the same stream serves the next command
      expect((await stream.send({ command: 'ECHO' }, adv.clientToken)).status).toBe('SUCCESS');
      await adv.expectUnchanged(before);
    } finally {
      stream.close();
    }
  });

  it('the client token on ExpectWorker', async () => {
    await refusedCall(() => expectWorker(raw, adv.clientToken, { identifier: 'sneaky', version: '1.0' }), status.UNAUTHENTICATED, /ExpectWorker needs the admin token/);
  });

  it('the client token opening a worker stream', async () => {
    const before = await adv.snapshot();
    const worker = new RawWorker(raw, undefined, adv.clientToken);
    opened.push(worker);
    expect(await worker.status).toMatchObject({ code: status.UNAUTHENTICATED, details: 'Connect: the client token cannot open a worker or admin stream' });
    await adv.expectUnchanged(before);
  });

  it('a worker registering without an expectation', async () => {
    await refusedHello({ identifier: 'uninvited', version: '1.0', token: oneTimeToken(), commands: ['ECHO'] });
  });

  it('a wrong one-time token', async () => {
    await expectWorker(raw, adv.adminToken, { identifier: 'guessed', version: '1.0', commands: ['ECHO'] });
    await refusedHello({ identifier: 'guessed', version: '1.0', token: oneTimeToken(), commands: ['ECHO'] });
  });

  it('a reused one-time token', async () => {
    const token = await expectWorker(raw, adv.adminToken, { identifier: 'once', version: '1.0', type: 'tests', product: 'once', commands: ['PING_ONCE'] });
    const first = new RawWorker(raw, undefined);
    opened.push(first);
    first.hello({ identifier: 'once', version: '1.0', token, type: 'tests', product: 'once', commands: ['PING_ONCE'] });
    expect(await first.welcome).toEqual({ valid: true, reason: '', batching: true, event_batches: true });
    await refusedHello({ identifier: 'once', version: '1.0', token, type: 'tests', product: 'once', commands: ['PING_ONCE'] });
    first.call.end();
    await first.status;
  });

  it("another identifier's one-time token", async () => {
    const token = await expectWorker(raw, adv.adminToken, { identifier: 'owner', version: '1.0', commands: ['ECHO'] });
    await refusedHello({ identifier: 'thief', version: '1.0', token, commands: ['ECHO'] });
  });

  it('a one-time token for another version', async () => {
    const token = await expectWorker(raw, adv.adminToken, { identifier: 'versioned', version: '1.0', commands: ['ECHO'] });
    await refusedHello({ identifier: 'versioned', version: '2.0', token, commands: ['ECHO'] });
  });
});
