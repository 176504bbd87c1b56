// The in-process stack (startBareStack: router + local repository + admin + ops) serving a repository of tests/rolling
// only, with an injectable update scheduler, the configured connectors not started (tests call
// admin.startConfiguredConnectors), and a way to publish new versions of a test product into the running repository
// (pack into {stateDir}/repository, other versions untouched).
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from '../../src/admin/admin.js';
import type { Scheduler } from '../../src/common/scheduler.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import type { Reply } from '../../src/proto/types.js';
import type { RepositoryServer } from '../../src/repository/server.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import type { RunningStack } from '../../src/up/stack.js';
import { payloadOf, sendAdmin, watchAdminEvents } from '../helpers/admin-events.js';
import { FIXTURE_CONNECTORS, startBareStack } from '../helpers/stack.js';

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
  stack: RunningStack;
  admin: Admin;
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

  const stack = await startBareStack(stateDir, {
    repository: { retries: 1 }, timeouts: opts.timeouts ?? {}, connectors: opts.connectors ?? [],
  }, { repositoryDir: repoDir, startConnectors: false, ...(opts.scheduler ? { scheduler: opts.scheduler } : {}) });
  const closers: Array<() => Promise<void>> = [() => stack.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const { admin } = stack;
    const repository = stack.repository!; // repositoryDir given: always served here
    const rpc = createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken });
    closers.push(async () => rpc.close());
    const log = watchAdminEvents(rpc, (e) => ({ event: e.event, payload: payloadOf(e) }));
    closers.push(async () => log.cancel());
    await log.ready; // the watch is registered before anything happens
    return {
      stack, admin, stateDir, rpc, events: log.events, repository,
      send: (command, payload, o) => sendAdmin(rpc, command, payload, o),
      waitForEvent: async (match, ms = 20_000, from = 0) => (await log.waitFor((x) => match(x.event, x.payload), ms, from)).payload,
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

/** Packs `tests/PRODUCT@VERSION` (a good worker, or one the router refuses at start) into the repository tree `repoDir`. */
export async function publishVersion(repoDir: string, product: string, version: string, worker: WorkerKind): Promise<void> {
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
