// An in-process `up` stack for admin tests: temp state dir, unix socket router, local repository, fast backoff.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { createLogger } from '../../src/common/log.js';
import { readProcStat } from '../../src/process/proc.js';
import type { Event, Reply } from '../../src/proto/types.js';
import { payloadOf, sendAdmin, watchAdminEvents, type SendPins } from './admin-events.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { startStack, type RunningStack, type StackOptions } from '../../src/up/stack.js';
import { packRepository } from '../../src/packages/pack/pack.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURE_CONNECTORS = join(ROOT, 'test/fixtures/connectors');

export interface TestStack {
  stack: RunningStack;
  stateDir: string;
  rpc: RouterRpc;
  /** Sends a command with the admin token; payload given as an object. */
  send(command: string, payload?: unknown, opts?: SendPins): Promise<Reply & { data: unknown }>;
  /** Every event seen on topic `admin` since start. */
  events: Event[];
  /** Resolves with the first admin event matching, waiting up to `ms`. */
  /** Resolves with the first admin event matching (from index `from` of `events`, default 0), waiting up to `ms`. */
  waitForEvent(match: (e: Event, p: Record<string, unknown>) => boolean, ms?: number, from?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

let packed: Promise<string> | undefined;
/** connectors/ and the test fixtures packed once per test process (bundling is the slow part of a stack start). */
export function packedRepository(): Promise<string> {
  return (packed ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-repo-'));
    await packRepository({ src: join(ROOT, 'connectors'), out: dir });
    await packRepository({ src: FIXTURE_CONNECTORS, out: dir });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  })());
}

/**
 * The stack every test starts from: config on `stateDir` (router socket inside it, ops on port 0, short
 * timeouts, fast backoff) with `overrides` merged in, serving its own copy of the packed repository
 * (a test may publish versions into it), or `options.repositoryDir` as is when given.
 */
export async function startBareStack(
  stateDir: string,
  overrides: { timeouts?: Record<string, string>; [field: string]: unknown } = {},
  options: Partial<StackOptions> = {},
): Promise<RunningStack> {
  const { timeouts, ...fields } = overrides;
  const config = parseAdminConfigObject({
    stateDir, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' }, connectors: [],
    ...fields, timeouts: { start: '10s', drain: '5s', kill: '2s', ...timeouts },
  }, { file: '<test>', env: {} });
  let repositoryDir = options.repositoryDir;
  if (repositoryDir === undefined) {
    repositoryDir = join(stateDir, 'repository');
    cpSync(await packedRepository(), repositoryDir, { recursive: true });
  }
  return startStack({
    config,
    logger: createLogger('test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' }),
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
    ...options,
    repositoryDir,
  });
}

/** Starts router + repository (project connectors + test fixtures) + admin. */
export async function startTestStack(opts: {
  connectors?: unknown[];
  timeouts?: Record<string, string>;
  mode?: 'development' | 'production';
  stateDir?: string;
  /** Admin config `limits` (sizes as strings, as in admin.yaml). */
  limits?: Record<string, unknown>;
  /** false: the configured connectors are not started (the test starts what it wants, in its order). */
  startConnectors?: boolean;
} = {}): Promise<TestStack> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'wa-st-'));
  const stack = await startBareStack(stateDir, {
    mode: opts.mode ?? 'development', connectors: opts.connectors ?? [], timeouts: opts.timeouts ?? {},
    ...(opts.limits ? { limits: opts.limits } : {}),
  }, opts.startConnectors === false ? { startConnectors: false } : {});
  const rpc = createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken });
  const log = watchAdminEvents(rpc, (e) => e);
  await log.ready; // a test's first command comes after the watch is registered: none of its events is missed
  return {
    stack, stateDir, rpc, events: log.events,
    send: (command, payload, o) => sendAdmin(rpc, command, payload, o),
    waitForEvent: async (match, ms = 20_000, from = 0) => payloadOf(await log.waitFor((e) => match(e, payloadOf(e)), ms, from)),
    async close() {
      log.cancel();
      await stack.close();
      rpc.close();
      // a worker's last log lines may still be landing: retry instead of failing on ENOTEMPTY
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

/** True while a process with that pid runs (a zombie waiting for its reaper counts as gone). */
export function alive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}
