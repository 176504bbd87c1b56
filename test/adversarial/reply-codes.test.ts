// Every refusal path of the router and of the admin, one row each: the Reply's status, and an error that starts with
// `CODE: ` where CODE is the one expected and one of ERROR_CODES (docs/errors.md). Real router, real admin and workers.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleAdminCommand } from '../../src/admin/commands/index.js';
import { ERROR_CODES, type ErrorCode } from '../../src/common/errors.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import type { Reply, Status } from '../../src/proto/types.js';
import { makeZip } from '../helpers/repo.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { connectWorker, expectWorker, routerClient, sendCommand, unary, type RawWorker } from '../router/raw.js';

interface Row {
  /** What is refused. */
  path: string;
  status: Exclude<Status, 'SUCCESS'>;
  code: ErrorCode;
  run(): Promise<Pick<Reply, 'status' | 'error'>>;
}

/** The checks every row makes: its status, and `CODE: explanation` with the code expected, from the one list. */
function expectCoded(reply: Pick<Reply, 'status' | 'error'>, row: Row): void {
  expect(reply.status, row.path).toBe(row.status);
  const match = /^([A-Z][A-Z0-9_]*): \S/.exec(reply.error);
  expect(match, `${row.path}: ${JSON.stringify(reply.error)}`).not.toBeNull();
  expect(ERROR_CODES).toContain(match![1]);
  expect(match![1], reply.error).toBe(row.code);
}

describe('router refusals carry CODE: explanation', () => {
  let r: TestRouter;
  let client: Client;
  const workers: RawWorker[] = [];
  const send = (command: Parameters<typeof sendCommand>[1]): Promise<Reply> => sendCommand(client, { timeout_ms: 10_000, ...command }, r.clientToken);

  beforeAll(async () => {
    r = await startTestRouter({ limits: { queue: 1 } });
    client = routerClient(r.address);
    workers.push(
      await connectWorker(client, r.adminToken, { identifier: 'strict', commands: ['ECHO', 'STRICT'], command_schemas: { STRICT: '{"type":"object","required":["n"]}' } }),
      await connectWorker(client, r.adminToken, { identifier: 'odd', commands: ['ODD'], handler: (c, w) => w.write({ reply: { uuid: c.uuid, status: 'NO_WORKER', payload: '', error: '' } }) }),
      await connectWorker(client, r.adminToken, { identifier: 'liar', commands: ['LIE'], handler: (c, w) => w.write({ reply: { uuid: c.uuid, status: 'SUCCESS', payload: '{not json', error: '' } }) }),
      await connectWorker(client, r.adminToken, { identifier: 'sleeper', commands: ['HANG'], handler: () => undefined }),
    );
    // Announced, never connected: WAIT is known (it queues), and tests/twin also declares ECHO.
    await expectWorker(client, r.adminToken, { identifier: 'absent', version: '1.0', commands: ['WAIT'] });
    await expectWorker(client, r.adminToken, { identifier: 'twin', version: '1.0', type: 'tests', product: 'twin', commands: ['ECHO'] });
  });
  afterAll(async () => {
    for (const w of workers) w.call.cancel();
    client?.close();
    await r?.close();
  });

  const rows: Row[] = [
    { path: 'a command name that is not a name', status: 'INVALID', code: 'NAME_INVALID', run: () => send({ command: 'not a name' }) },
    { path: 'a product pin that is not type/product', status: 'INVALID', code: 'NAME_INVALID', run: () => send({ command: 'ECHO', product: 'echo' }) },
    { path: 'a payload nested too deep', status: 'INVALID', code: 'LIMIT_EXCEEDED', run: () => send({ command: 'ECHO', payload: `${'['.repeat(100)}${']'.repeat(100)}` }) },
    { path: 'a payload that is not JSON', status: 'INVALID', code: 'PAYLOAD_INVALID', run: () => send({ command: 'ECHO', payload: '{nope' }) },
    { path: "a payload outside the worker's schema", status: 'INVALID', code: 'PAYLOAD_INVALID', run: () => send({ command: 'STRICT', payload: '{}' }) },
    {
      path: 'a uuid reused with another payload', status: 'INVALID', code: 'UUID_CONFLICT',
      run: async () => {
        expect((await send({ command: 'STRICT', payload: '{"n":1}', uuid: 'codes-uuid-1' })).status).toBe('SUCCESS');
        return send({ command: 'STRICT', payload: '{"n":2}', uuid: 'codes-uuid-1' });
      },
    },
    { path: 'a command nothing declares', status: 'NO_WORKER', code: 'UNKNOWN_COMMAND', run: () => send({ command: 'NOBODY_HOME' }) },
    { path: 'a command the pinned product does not declare', status: 'NO_WORKER', code: 'UNKNOWN_COMMAND', run: () => send({ command: 'STRICT', product: 'tests/twin' }) },
    { path: 'an unpinned command two products declare', status: 'INVALID', code: 'AMBIGUOUS_COMMAND', run: () => send({ command: 'ECHO' }) },
    { path: 'a known command no READY worker takes in time', status: 'NO_WORKER', code: 'NO_WORKER', run: () => send({ command: 'WAIT', timeout_ms: 200 }) },
    {
      path: 'a full queue', status: 'FAIL', code: 'QUEUE_FULL',
      run: async () => {
        const waiting = send({ command: 'WAIT', timeout_ms: 1_500 });
        await expect.poll(async () => (await unary<{ queue_size: number }>(client, 'ListWorkers', {}, r.clientToken)).queue_size).toBe(1);
        const full = await send({ command: 'WAIT', timeout_ms: 5_000 });
        expect((await waiting).status).toBe('NO_WORKER');
        return full;
      },
    },
    { path: 'a worker that does not reply in time', status: 'TIMEOUT', code: 'TIMEOUT', run: () => send({ command: 'HANG', timeout_ms: 200 }) },
    { path: 'a worker replying with a status it may not give', status: 'FAIL', code: 'REPLY_INVALID', run: () => send({ command: 'ODD' }) },
    { path: 'a worker replying with a payload that is not JSON', status: 'FAIL', code: 'REPLY_INVALID', run: () => send({ command: 'LIE' }) },
    {
      path: 'a worker whose stream ends with the command in flight', status: 'FAIL', code: 'WORKER_LOST',
      run: async () => {
        const lost = await connectWorker(client, r.adminToken, { identifier: 'lost', commands: ['VANISH'], handler: () => undefined });
        const reply = send({ command: 'VANISH' });
        await lost.until(() => lost.commands.length === 1);
        lost.call.cancel();
        return reply;
      },
    },
    {
      // Last: it stops the router.
      path: 'a queued command when the router shuts down', status: 'FAIL', code: 'ROUTER_SHUTDOWN',
      run: async () => {
        const queued = send({ command: 'WAIT', timeout_ms: 10_000 });
        await expect.poll(async () => (await unary<{ queue_size: number }>(client, 'ListWorkers', {}, r.clientToken)).queue_size).toBe(1);
        await r.close();
        return queued;
      },
    },
  ];
  for (const row of rows) it(`${row.path}: ${row.status} ${row.code}`, async () => expectCoded(await row.run(), row));
});

describe('admin refusals carry CODE: explanation', () => {
  let t: TestStack;
  let zip: Buffer;
  /** Writes a product straight into the stack's repository. */
  const publish = async (type: string, product: string, files: Record<string, string | Buffer>): Promise<void> => {
    for (const [rel, data] of Object.entries(files)) {
      const path = join(t.stateDir, 'repository', type, product, rel);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, data);
    }
  };
  const PIVOT = 'commands:\n  - { name: PING, schema: { type: object } }\n';
  // Says Hello with a token that is not the one of its start line: the router refuses it (BAD_TOKEN).
  const BAD_TOKEN_WORKER = `import { Readable } from 'node:stream';
import { startWorker } from 'worker-admin/sdk';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const line = JSON.parse(text);
line.token = 'not-' + line.token;
await startWorker({ commands: { PING: async () => 'pong' }, stdin: Readable.from([JSON.stringify(line)]) });
`;
  /** Packs a worker source (one version 1.0 of bad/{product}) into the stack's repository, bundled like any connector. */
  const pack = async (product: string, worker: string): Promise<void> => {
    const src = await mkdtemp(join(tmpdir(), 'wa-codes-src-'));
    try {
      await mkdir(join(src, 'bad', product, '1', '0', 'worker'), { recursive: true });
      await writeFile(join(src, 'bad', product, '1_configuration.yaml'), PIVOT);
      await writeFile(join(src, 'bad', product, '1', '0', 'worker', 'worker.mjs'), worker);
      await packRepository({ src, out: join(t.stateDir, 'repository') });
    } finally {
      await rm(src, { recursive: true, force: true });
    }
  };

  beforeAll(async () => {
    // No connector configured (product is required), a short start timeout, one instance at most.
    t = await startTestStack({ timeouts: { start: '3s' }, limits: { instances: 1, entries: 50, unpackedBytes: '8MiB' } });
    zip = await makeZip([{ name: 'worker.mjs', data: 'process.exit(0);\n' }]);
    await publish('bad', 'bomb', { 'versions.yaml': '- "1.0"\n', '1_configuration.yaml': PIVOT, '1_0_worker.zip': await makeZip([{ name: 'worker.mjs', data: '' }, { name: 'bomb.bin', data: Buffer.alloc(4 * 1024 * 1024) }]) });
    await publish('bad', 'sum', { 'versions.yaml': `- version: "1.0"\n  sha256: "${'0'.repeat(64)}"\n`, '1_configuration.yaml': PIVOT, '1_0_worker.zip': zip });
    await publish('bad', 'nozip', { 'versions.yaml': '- "1.0"\n', '1_configuration.yaml': PIVOT });
    await publish('bad', 'pivot', { 'versions.yaml': '- "1.0"\n', '1_configuration.yaml': 'commands: 3\n', '1_0_worker.zip': zip });
    await pack('token', BAD_TOKEN_WORKER);
    await publish('bad', 'exits', { 'versions.yaml': `- version: "1.0"\n  sha256: ${createHash('sha256').update(zip).digest('hex')}\n`, '1_configuration.yaml': PIVOT, '1_0_worker.zip': zip });
  });
  afterAll(async () => {
    await t?.close();
  });

  const start = (payload: Record<string, unknown>) => () => t.send('ADMIN_START_WORKER', payload);
  const get = (product: string, version = '1.0') => () => t.send('ADMIN_GET_WORKER', { product, version });
  const rows: Row[] = [
    { path: 'a payload outside the admin schema', status: 'INVALID', code: 'PAYLOAD_INVALID', run: start({ product: 'tests/twin', version: 3 }) },
    { path: 'no product while the config lists no single connector', status: 'INVALID', code: 'PAYLOAD_INVALID', run: start({}) },
    { path: 'a product that is not type/product', status: 'INVALID', code: 'PAYLOAD_INVALID', run: start({ product: 'Bad/Name' }) },
    { path: 'a product the repository does not have', status: 'FAIL', code: 'PRODUCT_UNKNOWN', run: get('tests/none') },
    { path: 'a version the repository does not list', status: 'FAIL', code: 'VERSION_NOT_FOUND', run: get('tests/twin', '9.9') },
    { path: 'ADMIN_GET_WORKER of a zip bomb', status: 'FAIL', code: 'PACKAGE_REJECTED', run: get('bad/bomb') },
    { path: 'ADMIN_GET_WORKER of a package whose sha256 is not the listed one', status: 'FAIL', code: 'CHECKSUM_MISMATCH', run: get('bad/sum') },
    { path: 'ADMIN_GET_WORKER of a listed version whose zip is missing', status: 'FAIL', code: 'REPOSITORY_ERROR', run: get('bad/nozip') },
    { path: 'ADMIN_GET_WORKER of a malformed pivot', status: 'FAIL', code: 'PIVOT_INVALID', run: get('bad/pivot') },
    { path: 'a start with a mandatory key missing', status: 'FAIL', code: 'CONFIG_INVALID', run: start({ product: 'tests/needs-key' }) },
    { path: 'a start whose worker lacks a pivot command', status: 'FAIL', code: 'COMMANDS_MISSING', run: start({ product: 'tests/missing-cmd' }) },
    { path: 'a start whose worker says Hello with the wrong token', status: 'FAIL', code: 'BAD_TOKEN', run: start({ product: 'bad/token' }) },
    { path: 'a start whose worker never says Hello', status: 'FAIL', code: 'START_TIMEOUT', run: start({ product: 'tests/no-hello' }) },
    { path: 'a start whose worker exits before READY', status: 'FAIL', code: 'WORKER_EXITED', run: start({ product: 'bad/exits' }) },
    { path: 'an update with no READY instance', status: 'FAIL', code: 'NOT_FOUND', run: () => t.send('ADMIN_UPDATE', { product: 'tests/twin' }) },
    { path: 'a rollback with no previous version', status: 'FAIL', code: 'NOT_FOUND', run: () => t.send('ADMIN_ROLLBACK', { product: 'tests/twin' }) },
    {
      path: 'a start under a running identifier with another product', status: 'FAIL', code: 'IDENTIFIER_CONFLICT',
      run: async () => {
        expect((await t.send('ADMIN_START_WORKER', { product: 'tests/twin', identifier: 'taken' })).status).toBe('SUCCESS');
        return t.send('ADMIN_START_WORKER', { product: 'tests/rolling', identifier: 'taken' });
      },
    },
    { path: 'a start over the instances limit', status: 'FAIL', code: 'LIMIT_EXCEEDED', run: start({ product: 'tests/twin', identifier: 'one-too-many' }) },
    {
      // The router never sends the admin a command outside its pivot; the admin still answers one with a code.
      path: 'a command that is not an admin command', status: 'INVALID', code: 'UNKNOWN_COMMAND',
      run: async () => {
        const reply = await handleAdminCommand({ uuid: 'u', command: 'ADMIN_NOPE', payload: '{}', timeout_ms: 0, target: '', major: '', product: '', context: {} }, {}, t.stack.admin.context);
        return { status: reply.status, error: reply.error ?? '' };
      },
    },
  ];
  for (const row of rows) it(`${row.path}: ${row.status} ${row.code}`, async () => expectCoded(await row.run(), row));
});
