// The minimal Python worker of docs/workers.md, as printed there, packed and run by a real stack: it serves, drains, exits 0.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRepository } from '../../src/packages/pack/pack.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import type { RunningStack } from '../../src/up/stack.js';
import { routerPb2 } from '../helpers/python-pb2.js';
import { ROOT, startBareStack } from '../helpers/stack.js';

/** A python3 with grpcio and protobuf (Debian's packages), or undefined. */
function pythonWithGrpc(): string | undefined {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const run = spawnSync(candidate, ['-c', 'import grpc, google.protobuf'], { env: { PATH: process.env['PATH'] ?? '' }, stdio: 'ignore' });
    if (run.status === 0) return candidate;
  }
  return undefined;
}

/** The ```python block of the "A minimal worker in Python" section. */
function docWorker(): string {
  const doc = readFileSync(join(ROOT, 'docs/workers.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## A minimal worker in Python'));
  const block = /```python\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('docs/workers.md: no python block in "A minimal worker in Python"');
  return block;
}

const python = pythonWithGrpc();
if (!python) console.warn('skipped: no python3 with grpcio and protobuf (apt-get install -y python3-grpcio python3-protobuf)');

describe.skipIf(!python)('the Python worker of docs/workers.md', () => {
  let dir: string;
  let stack: RunningStack;
  let rpc: RouterRpc;
  const send = async (command: string, payload: unknown) => {
    const reply = await rpc.sendCommand({ command, payload: JSON.stringify(payload), timeout_ms: 20_000 });
    return { ...reply, data: reply.payload ? (JSON.parse(reply.payload) as unknown) : null };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-py-'));
    const src = join(dir, 'src', 'tests', 'pyecho');
    mkdirSync(join(src, '1', '0', 'worker'), { recursive: true });
    writeFileSync(join(src, '1_configuration.yaml'), [
      'commands:',
      '  - { name: ECHO, schema: { type: object } }',
      '  - { name: SLOW, schema: { type: object, required: [ms], properties: { ms: { type: integer, minimum: 0 } } } }',
      'events: []', '',
    ].join('\n'));
    // The doc's script as is, but for the interpreter: the one found above, whatever the workers' PATH finds first.
    const worker = join(src, '1', '0', 'worker', 'worker');
    writeFileSync(worker, docWorker().replace(/^#!.*\n/, `#!${python === 'python3' ? '/usr/bin/env python3' : python}\n`));
    chmodSync(worker, 0o755);
    writeFileSync(join(src, '1', '0', 'worker', 'router_pb2.py'), routerPb2());
    const repositoryDir = join(dir, 'repository');
    await packRepository({ src: join(dir, 'src'), out: repositoryDir });
    stack = await startBareStack(join(dir, 'state'), { connectors: [{ type: 'tests', product: 'pyecho', versions: ['1.0'] }] }, { repositoryDir });
    rpc = createRouterRpc({ address: stack.credentials.router, token: stack.credentials.adminToken });
  });

  afterAll(async () => {
    rpc?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('becomes READY, answers ECHO, and on a stop finishes its command, then exits 0', async () => {
    const echo = await send('ECHO', { text: 'hi' });
    expect(echo).toMatchObject({ status: 'SUCCESS', data: { text: 'hi' }, worker: 'tests-pyecho-1@1.0' });

    const slow = send('SLOW', { ms: 1000 });
    // Stop once SLOW is on the worker: the drain must let it finish and its reply reach the client.
    while (!(await rpc.listWorkers()).workers.some((w) => w.identifier === 'tests-pyecho-1' && w.in_flight > 0)) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stop = await send('ADMIN_STOP_WORKER', { identifier: 'tests-pyecho-1' });
    expect(stop).toMatchObject({ status: 'SUCCESS', data: { stopped: ['tests-pyecho-1'] } });
    expect(await slow).toMatchObject({ status: 'SUCCESS', data: { slept: 1000 }, worker: 'tests-pyecho-1@1.0' });
    const list = await send('ADMIN_LIST_WORKERS', {});
    expect((list.data as { workers: unknown[] }).workers).toContainEqual(expect.objectContaining({
      identifier: 'tests-pyecho-1', state: 'STOPPED', lastExit: expect.objectContaining({ code: 0, signal: null }),
    }));
  });
});
