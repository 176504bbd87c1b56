// Python tests' shared pieces: whether a Python with grpcio is here (else the tests skip and say why), and an
// in-process stack serving the Python test connectors (test/fixtures/python-connectors, packed once per process).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probePython, PYTHON_INSTALL_HINT } from '../../src/admin/python-runtime.js';
import type { Logger } from '../../src/common/log.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import type { Event, Reply } from '../../src/proto/types.js';
import { connectRouter, type RouterClient } from '../../src/sdk/client.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import type { RunningStack } from '../../src/up/stack.js';
import { payloadOf, sendAdmin, watchAdminEvents } from '../helpers/admin-events.js';
import { ROOT, startBareStack } from '../helpers/stack.js';

export const PY_FIXTURES = join(ROOT, 'test/fixtures/python-connectors');

/** The Python with grpcio and protobuf the admin would use, or undefined (then `skipReason` says why). */
export const PYTHON = (await probePython()).found;
export const SKIP_REASON = PYTHON ? '' : `Python tests skipped: no python3 with grpcio and protobuf (${PYTHON_INSTALL_HINT})`;
if (!PYTHON) process.stderr.write(`${SKIP_REASON}\n`);

let packed: Promise<string> | undefined;
/** The Python test connectors packed once per test process, with tests/pyecho 1.1 a copy of 1.0 (for updates). */
export function packedPythonRepository(): Promise<string> {
  return (packed ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-pyrepo-'));
    const src = mkdtempSync(join(tmpdir(), 'wa-pysrc-'));
    cpSync(PY_FIXTURES, src, { recursive: true });
    cpSync(join(src, 'tests/pyecho/1/0'), join(src, 'tests/pyecho/1/1'), { recursive: true });
    await packRepository({ src, out: dir });
    rmSync(src, { recursive: true, force: true });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  })());
}

export interface PyStack {
  stack: RunningStack;
  stateDir: string;
  /** Admin token. */
  rpc: RouterRpc;
  /** Client token. */
  client: RouterClient;
  send(command: string, payload?: unknown, opts?: { timeoutMs?: number; target?: string }): Promise<Reply & { data: unknown }>;
  events: Event[];
  waitForEvent(match: (e: Event, p: Record<string, unknown>) => boolean, ms?: number, from?: number): Promise<Record<string, unknown>>;
  /** The text of every log file of `identifier` so far (its stdout and stderr, run after run). */
  workerLog(identifier: string): string;
  close(): Promise<void>;
}

/** Router + admin + repository (the packed Python connectors, or `repositoryDir`) in a temp state dir. */
export async function startPyStack(opts: { connectors?: unknown[]; repositoryDir?: string; timeouts?: Record<string, string>; logger?: Logger } = {}): Promise<PyStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-py-'));
  const stack = await startBareStack(stateDir, { mode: 'development', connectors: opts.connectors ?? [], timeouts: opts.timeouts ?? {} }, {
    repositoryDir: opts.repositoryDir ?? (await packedPythonRepository()),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const rpc = createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken });
  const client = connectRouter({ address: stack.router.address, token: stack.credentials.clientToken });
  const log = watchAdminEvents(rpc, (e) => e);
  return {
    stack, stateDir, rpc, client, events: log.events,
    send: (command, payload, o) => sendAdmin(rpc, command, payload, o),
    waitForEvent: async (match, ms = 20_000, from = 0) => payloadOf(await log.waitFor((e) => match(e, payloadOf(e)), ms, from)),
    workerLog: (identifier) => {
      const dir = join(stateDir, 'logs');
      return readdirSync(dir).filter((f) => f.startsWith(`${identifier}.`)).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('');
    },
    async close() {
      log.cancel();
      client.close();
      await stack.close();
      rpc.close();
      rmSync(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/** True when `module` imports under the Python found (for tests that need more than grpcio, e.g. aiosmtpd). */
export function pythonHas(module: string): boolean {
  return PYTHON !== undefined && spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

/** Packs `dirs` (folders of a connectors/-style tree, e.g. connectors/mail) into a fresh repository folder. */
export async function packConnectors(root: string, dirs: string[]): Promise<string> {
  const src = mkdtempSync(join(tmpdir(), 'wa-csrc-'));
  for (const d of dirs) cpSync(join(root, d), join(src, d), { recursive: true });
  const out = mkdtempSync(join(tmpdir(), 'wa-crepo-'));
  await packRepository({ src, out });
  rmSync(src, { recursive: true, force: true });
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  return out;
}

/** Resolves once `check` returns true, checking on each of the router's worker-list changes (polled every 20 ms). */
export async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not reached within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
