// Router + local repository + admin in this process, with an injectable update scheduler, and a way to publish new
// versions of a test product into the running repository (pack into {stateDir}/repository, other versions untouched).
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdmin, type RunningAdmin } from '../../src/admin/admin.js';
import type { Scheduler } from '../../src/admin/update/scheduler.js';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import type { Event, Reply } from '../../src/proto/types.js';
import { startRepositoryServer, type RepositoryServer } from '../../src/repository/server.js';
import { startRouter, type RunningRouter } from '../../src/router/server.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { FIXTURE_CONNECTORS } from '../helpers/stack.js';

const ROLLING = join(FIXTURE_CONNECTORS, 'tests/rolling');
const GOOD_WORKER = readFileSync(join(ROLLING, '1/0/worker/worker.mjs'), 'utf8');
// Serves ECHO only while the pivot of major 1 also requires SLOW: the router refuses it (COMMANDS_MISSING: SLOW).
const BAD_WORKER = "import { startWorker } from 'worker-admin/sdk';\nawait startWorker({ commands: { ECHO: async (p) => p } });\n";
// Good, except for an instance whose `label` is "picky": that one serves ECHO only, so it never becomes READY.
const PICKY_WORKER = `import { Readable } from 'node:stream';
import { startWorker } from 'worker-admin/sdk';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const picky = JSON.parse(text).config.label === 'picky';
const commands = { ECHO: async (p) => p, ...(picky ? {} : { SLOW: async (p) => ({ slept: p.ms }) }) };
await startWorker({ commands, stdin: Readable.from([text]) });
`;
const WORKERS = { good: GOOD_WORKER, bad: BAD_WORKER, picky: PICKY_WORKER };
type WorkerKind = keyof typeof WORKERS;

export interface UpdateStack {
  admin: RunningAdmin;
  stateDir: string;
  rpc: RouterRpc;
  /** Sends a command with the admin token. */
  send(command: string, payload?: unknown, opts?: { timeoutMs?: number; target?: string }): Promise<Reply & { data: unknown }>;
  /** Every event on topic `admin`, parsed. */
  events: Array<{ event: string; payload: Record<string, unknown> }>;
  waitForEvent(match: (event: string, payload: Record<string, unknown>) => boolean, ms?: number, from?: number): Promise<Record<string, unknown>>;
  /** Publishes `tests/{product}@{version}` to the running repository: the rolling echo, one missing SLOW, or one missing it for label "picky". */
  publish(version: string, opts?: { product?: string; worker?: WorkerKind }): Promise<void>;
  /** Stops the repository (an unreachable repository for auto checks). */
  repository: RepositoryServer;
  close(): Promise<void>;
}

/** Starts the stack with `tests/rolling@1.0` in the repository; `connectors` are admin config entries. */
export async function startUpdateStack(opts: { connectors?: unknown[]; scheduler?: Scheduler; timeouts?: Record<string, string>; stateDir?: string } = {}): Promise<UpdateStack> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'wa-upd-'));
  const repoDir = join(stateDir, 'repository');
  const src = mkdtempSync(join(tmpdir(), 'wa-upd-src-'));
  cpSync(join(FIXTURE_CONNECTORS, 'tests/keys.yaml'), join(src, 'tests/keys.yaml'), { recursive: true });
  cpSync(ROLLING, join(src, 'tests/rolling'), { recursive: true });
  await packRepository({ src, out: repoDir });
  rmSync(src, { recursive: true, force: true });

  const config = parseAdminConfigObject({
    stateDir, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' }, repository: { retries: 1 },
    timeouts: { start: '10s', drain: '5s', kill: '2s', ...opts.timeouts }, connectors: opts.connectors ?? [],
  }, { file: '<test>', env: {} });
  const logger = createLogger('test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' });
  const adminToken = randomBytes(32).toString('base64url');
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const repository = await startRepositoryServer({ dir: repoDir, listen: '127.0.0.1:0' });
    closers.push(() => repository.close());
    const router: RunningRouter = await startRouter({ listen: `unix:${join(stateDir, 'router.sock')}`, stateDir, adminToken, logger });
    closers.push(() => router.close());
    const admin = await startAdmin({
      config, adminToken, routerAddress: router.address, repositoryUrl: repository.url, logger,
      backoff: { initialDelayMs: 50, maxDelayMs: 200 }, ...(opts.scheduler ? { scheduler: opts.scheduler } : {}),
    });
    closers.push(() => admin.close());
    const rpc = createRouterRpc({ address: router.address, token: adminToken });
    closers.push(async () => rpc.close());
    const events: UpdateStack['events'] = [];
    const waiters = new Set<() => void>();
    const watch = rpc.watchEvents({ topics: ['admin'] });
    watch.on('data', (e: Event) => {
      events.push({ event: e.event, payload: JSON.parse(e.payload || '{}') as Record<string, unknown> });
      for (const w of waiters) w();
    });
    watch.on('error', () => {});
    closers.push(async () => watch.cancel());
    await new Promise((resolve) => setTimeout(resolve, 50)); // the watch is registered before anything happens
    return {
      admin, stateDir, rpc, events, repository,
      async send(command, payload = {}, o = {}) {
        const reply = await rpc.sendCommand({ command, payload: JSON.stringify(payload), timeout_ms: o.timeoutMs ?? 60_000, target: o.target ?? '' });
        return { ...reply, data: reply.payload ? JSON.parse(reply.payload) : null };
      },
      waitForEvent: (match, ms = 20_000, from = 0) => new Promise((resolve, reject) => {
        let seen = from;
        const check = (): void => {
          for (; seen < events.length; seen++) {
            const e = events[seen]!;
            if (match(e.event, e.payload)) {
              done();
              resolve(e.payload);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching admin event within ${ms} ms; seen: ${events.map((e) => e.event).join(', ')}`));
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
      publish: (version, o = {}) => publishVersion(repoDir, o.product ?? 'rolling', version, o.worker ?? 'good'),
      async close() {
        await closeAll();
        if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function publishVersion(repoDir: string, product: string, version: string, worker: WorkerKind): Promise<void> {
  const [major, minor] = version.split('.') as [string, string];
  const src = mkdtempSync(join(tmpdir(), 'wa-upd-pub-'));
  try {
    const dir = join(src, 'tests', product);
    mkdirSync(join(dir, major, minor, 'worker'), { recursive: true });
    cpSync(join(ROLLING, '1_configuration.yaml'), join(dir, `${major}_configuration.yaml`));
    writeFileSync(join(dir, major, minor, 'worker', 'worker.mjs'), WORKERS[worker]);
    await packRepository({ src, out: repoDir });
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/** The version part of a Reply.worker (`IDENTIFIER@VERSION`). */
export function versionOf(reply: { worker: string }): string {
  return reply.worker.slice(reply.worker.lastIndexOf('@') + 1);
}
