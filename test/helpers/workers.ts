// Spawns real fixture worker processes (test/fixtures/workers/*.mjs) announced to a real router, and cleans them up.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RouterClient } from '../../src/sdk/client.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import type { EventMessage } from '../../src/sdk/types.js';

/** The repository root: fixtures import 'worker-admin/sdk', which resolves through the package's self-reference. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES_DIR = join(REPO_ROOT, 'test', 'fixtures', 'workers');

/** Options of spawnFixtureWorker. */
interface FixtureWorkerOptions {
  address: string;
  adminToken: string;
  /** File name in test/fixtures/workers, e.g. "echo.mjs". */
  fixture: string;
  identifier: string;
  version?: string;
  type?: string;
  product?: string;
  /** The pivot's commands the router requires in Hello. */
  commands?: string[];
  config?: Record<string, unknown>;
  /** Overrides the token written on stdin (the expectation keeps the real one's hash). */
  token?: string;
  /** Skip ExpectWorker (to test a worker nobody announced). */
  announce?: boolean;
}

/** A running fixture process. */
interface FixtureWorker {
  pid: number;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** stdout + stderr so far. */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves once the output contains `pattern`; rejects if the process ends or the time passes first. */
  waitForOutput(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
}

const live = new Set<{ child: ChildProcess; exited: Promise<unknown> }>();

/** Announces the worker to the router (ExpectWorker), spawns the fixture and writes its start line. */
export async function spawnFixtureWorker(opts: FixtureWorkerOptions): Promise<FixtureWorker> {
  const version = opts.version ?? '1.0';
  const type = opts.type ?? 'test';
  const product = opts.product ?? opts.fixture.replace(/\.mjs$/, '').toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  const token = randomBytes(24).toString('hex');
  if (opts.announce !== false) {
    const rpc = createRouterRpc({ address: opts.address, token: opts.adminToken });
    try {
      await rpc.expectWorker({
        identifier: opts.identifier, version, type, product,
        token_sha256: createHash('sha256').update(token).digest('hex'), commands: opts.commands ?? [],
      });
    } finally {
      rpc.close();
    }
  }
  const child = spawn(process.execPath, [join(FIXTURES_DIR, opts.fixture), '--identifier', opts.identifier, '--target', opts.address], {
    cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env },
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onOutput = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) => {
    child.on('close', (code, signal) => done({ code, signal }));
  });
  const entry = { child, exited };
  live.add(entry);
  void exited.then(() => live.delete(entry));
  child.stdin!.on('error', () => undefined); // a fixture that exits at once never reads its stdin
  const line = { identifier: opts.identifier, target: opts.address, token: opts.token ?? token, type, product, version, config: opts.config ?? {} };
  child.stdin!.end(`${JSON.stringify(line)}\n`);

  return {
    pid: child.pid!,
    exited,
    output: () => out,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    waitForOutput: (pattern, timeoutMs = 15_000) =>
      new Promise<void>((resolveWait, reject) => {
        const matches = (): boolean => (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out));
        const stop = (): void => {
          listeners.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          if (matches()) {
            stop();
            resolveWait();
          }
        };
        const timer = setTimeout(() => {
          stop();
          reject(new Error(`${opts.fixture} (${opts.identifier}) did not print ${String(pattern)} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        void exited.then(({ code, signal }) => {
          if (!listeners.has(check)) return;
          check();
          if (!listeners.has(check)) return;
          stop();
          reject(new Error(`${opts.fixture} (${opts.identifier}) exited (${code ?? signal}) before printing ${String(pattern)}; output:\n${out}`));
        });
        check();
      }),
  };
}

/** SIGKILLs every fixture process still running and waits for them (afterEach/afterAll). */
export async function killAllFixtureWorkers(): Promise<void> {
  const entries = [...live];
  for (const { child } of entries) child.kill('SIGKILL');
  await Promise.all(entries.map((e) => e.exited));
}

/** Collects the events of a confirmed watch so a test can wait for the one it expects. */
interface EventCollector {
  readonly events: EventMessage[];
  waitFor(match: (e: EventMessage) => boolean, timeoutMs?: number): Promise<EventMessage>;
  close(): void;
}

/** Opens a watch on `topics` through `client` and collects what arrives (resolves once the router registered it). */
export async function collectEvents(client: RouterClient, topics: string[] = []): Promise<EventCollector> {
  const watch = await client.watch(topics);
  const events: EventMessage[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    for await (const e of watch) {
      events.push(e);
      for (const w of [...waiters]) w();
    }
  })().catch(() => undefined);
  return {
    events,
    close: () => watch.close(),
    waitFor: (match, timeoutMs = 10_000) =>
      new Promise<EventMessage>((resolveWait, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolveWait(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => `${e.topic}:${e.event}`))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
