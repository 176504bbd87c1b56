// SendCommands streams that break with commands in flight because the router process was killed: every command is
// answered (an error saying it may have run), the next send reconnects by itself, and given several routers the
// commands go to the next one with the same uuid. The TypeScript and the Python client alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type Client } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWorkerAdminError } from '../../src/common/errors.js';
import { connectRouter } from '../../src/sdk/client.js';
import { testEnv } from '../helpers/env.js';
import { makeToken } from '../helpers/router.js';
import { REPO_ROOT } from '../helpers/workers.js';
import { PYTHON, SKIP_REASON } from '../python/harness.js';
import { connectWorker, routerClient } from '../router/raw.js';

/** A `worker-admin router` process on a unix socket in `dir`, with the given tokens; stopped by pid. */
interface RouterProcess {
  address: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

function startRouterProcess(dir: string, tokens: { adminToken: string; clientToken: string }): Promise<RouterProcess> {
  const env = testEnv({ WORKER_ADMIN_TOKEN: tokens.adminToken, WORKER_ADMIN_CLIENT_TOKEN: tokens.clientToken });
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'worker-admin.js'), 'router', '--state-dir', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((done) => child.once('close', done));
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /router listening on (\S+)\n/.exec(out);
      if (m) resolve({ address: m[1]!, child, exited });
    });
    child.stderr.resume();
    void exited.then(() => reject(new Error(`router exited before listening: ${out}`)));
  });
}

describe('SDK streams when the router process dies', () => {
  const tokens = { adminToken: makeToken(), clientToken: makeToken() };
  let dirs: string[] = [];
  let routers: RouterProcess[] = [];
  const clients: Client[] = [];

  const router = async (name: string): Promise<RouterProcess> => {
    const dir = await mkdtemp(join(tmpdir(), `wa-sc-${name}-`));
    dirs.push(dir);
    const started = await startRouterProcess(dir, tokens);
    routers.push(started);
    return started;
  };
  const rawClient = (address: string): Client => {
    const c = routerClient(address);
    clients.push(c);
    return c;
  };
  const kill = async (p: RouterProcess): Promise<void> => {
    p.child.kill('SIGKILL');
    await p.exited;
  };

  beforeEach(() => {
    dirs = [];
    routers = [];
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of routers) {
      if (p.child.exitCode === null && p.child.signalCode === null) await kill(p);
    }
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('killed with commands in flight: each gets a clear error (it may have run); a later send reconnects by itself', async () => {
    const first = await router('one');
    const holder = await connectWorker(rawClient(first.address), tokens.adminToken, { identifier: 'w', commands: ['HANG', 'ECHO'], handler: () => undefined });
    const sdk = connectRouter({ address: first.address, token: tokens.clientToken });
    try {
      const outcomes = [1, 2, 3, 4, 5].map((n) => sdk.send('HANG', { n }, { timeout: '60s' }).then((reply) => reply, (error: unknown) => error));
      await holder.until(() => holder.commands.length === 5, 15_000);
      await kill(first);
      for (const outcome of await Promise.all(outcomes)) {
        expect(isWorkerAdminError(outcome, 'ROUTER_ERROR')).toBe(true);
        expect((outcome as { details: { grpcCode: number } }).details.grpcCode).toBe(status.UNAVAILABLE);
        expect((outcome as Error).message).toMatch(/SendCommands failed with UNAVAILABLE: .*it may have run/);
      }
      // the same router again, same state dir and socket: the client's next send opens a new stream
      const again = await startRouterProcess(dirs[0]!, tokens);
      routers.push(again);
      await connectWorker(rawClient(again.address), tokens.adminToken, { identifier: 'w', commands: ['ECHO'] });
      expect(await sdk.send('ECHO', { back: true })).toMatchObject({ status: 'SUCCESS', payload: { back: true }, worker: 'w@1.0' });
    } finally {
      sdk.close();
    }
  });

  it.skipIf(!PYTHON)(`the Python client too: each command in flight gets ROUTER_ERROR, the next send reconnects${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, async () => {
    const first = await router('py');
    const holder = await connectWorker(rawClient(first.address), tokens.adminToken, { identifier: 'w', commands: ['HANG', 'ECHO'], handler: () => undefined });
    const child = spawn(PYTHON!, ['-B', join(REPO_ROOT, 'test/fixtures/python-client/broken.py'), first.address], {
      cwd: join(REPO_ROOT, 'sdk/python'), env: testEnv({ PYTHONPATH: join(REPO_ROOT, 'sdk/python') }), stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => child.once('close', done));
    try {
      let out = '';
      let err = '';
      const arrived = new Set<() => void>();
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        for (const wake of [...arrived]) wake();
      });
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      /** The value under `key` in the first JSON line that has it, once printed. */
      const line = (key: string): Promise<unknown> => new Promise((resolve, reject) => {
        const look = (): void => {
          const found = out.split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => key in l);
          if (!found) return;
          arrived.delete(look);
          resolve(found[key]);
        };
        arrived.add(look);
        void exited.then(() => arrived.has(look) && reject(new Error(`broken.py exited before printing ${key}: ${out} ${err}`)));
        look();
      });
      child.stdin.write(`${tokens.clientToken}\n`);
      await line('sent');
      await holder.until(() => holder.commands.length === 3, 15_000);
      await kill(first);
      const hung = (await line('hung')) as Array<{ code: string; message: string }>;
      expect(hung).toHaveLength(3);
      for (const h of hung) {
        expect(h.code).toBe('ROUTER_ERROR');
        expect(h.message).toMatch(/SendCommands failed with UNAVAILABLE: .*it may have run/);
      }
      const again = await startRouterProcess(dirs[0]!, tokens);
      routers.push(again);
      await connectWorker(rawClient(again.address), tokens.adminToken, { identifier: 'w', commands: ['ECHO'] });
      child.stdin.end('go\n');
      expect(await line('again')).toEqual({ status: 'SUCCESS' });
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('several routers: commands in flight on the one killed go to the next with the same uuid and are served there', async () => {
    const [a, b] = [await router('a'), await router('b')];
    const holder = await connectWorker(rawClient(a.address), tokens.adminToken, { identifier: 'held', commands: ['ECHO'], handler: () => undefined });
    const served = await connectWorker(rawClient(b.address), tokens.adminToken, { identifier: 'served', commands: ['ECHO'] });
    const sdk = connectRouter({ address: [a.address, b.address], token: tokens.clientToken });
    try {
      const replies = [1, 2, 3].map((n) => sdk.send('ECHO', { n }, { timeout: '60s' }));
      await holder.until(() => holder.commands.length === 3, 15_000);
      await kill(a);
      const got = await Promise.all(replies);
      expect(got.map((x) => [x.status, x.payload, x.worker])).toEqual([1, 2, 3].map((n) => ['SUCCESS', { n }, 'served@1.0']));
      expect(new Set(served.commands.map((c) => c.uuid))).toEqual(new Set(holder.commands.map((c) => c.uuid)));
    } finally {
      sdk.close();
    }
  });
});
