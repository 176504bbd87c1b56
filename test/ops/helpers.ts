// Ops tests: an in-process stack (router + repository + admin + ops) on temp dirs, a hand-driven clock, HTTP helpers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import type { RunningStack } from '../../src/up/stack.js';
import { createScheduler } from '../../src/common/scheduler.js';
import { ManualClock } from '../helpers/clock.js';
import { startBareStack } from '../helpers/stack.js';

export const ECHO_CONNECTOR = { type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' } };

export interface OpsStack {
  stack: RunningStack;
  stateDir: string;
  clock: ManualClock;
  /** http://HOST:PORT of the ops API. */
  base: string;
  token: string;
  rpc: RouterRpc;
  close(): Promise<void>;
}

/** Starts a stack whose ops API listens on 127.0.0.1:0; policies and update checks share one scheduler on a ManualClock. */
export async function startOpsStack(opts: { stateDir?: string; clock?: ManualClock; connectors?: unknown[]; seriesStepMs?: number } = {}): Promise<OpsStack> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'wa-ops-'));
  const clock = opts.clock ?? new ManualClock(new Date(2030, 0, 1, 0, 0, 30).getTime());
  const stack = await startBareStack(stateDir, {
    connectors: opts.connectors ?? [], timeouts: { command: '5s' },
  }, { scheduler: createScheduler(clock), ops: { clock, ...(opts.seriesStepMs ? { seriesStepMs: opts.seriesStepMs } : {}) } });
  const rpc = createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken });
  return {
    stack, stateDir, clock, base: `http://${stack.ops.address}`, token: stack.credentials.adminToken, rpc,
    async close() {
      rpc.close();
      await stack.close();
      if (!opts.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A response: status, parsed JSON body (or the text), headers. */
interface HttpResult {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

/** One HTTP request to the ops API. */
export async function http(base: string, method: string, path: string, opts: { body?: string; type?: string; token?: string } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (opts.type !== undefined) headers['content-type'] = opts.type;
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  const res = await fetch(`${base}${path}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics, the page)
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** POSTs a policies YAML with the admin token. */
export function postPolicies(t: OpsStack, yaml: string, opts: { type?: string; token?: string | null } = {}): Promise<HttpResult> {
  const token = opts.token === null ? undefined : opts.token ?? t.token;
  return http(t.base, 'POST', '/api/v1/policies', { body: yaml, type: opts.type ?? 'application/x-yaml', ...(token !== undefined ? { token } : {}) });
}

/** The status body. */
export async function status(t: OpsStack): Promise<{ workers: Array<Record<string, unknown>>; policies: Array<Record<string, unknown>> } & Record<string, unknown>> {
  return (await http(t.base, 'GET', '/api/v1/status')).body as never;
}

/** Polls `check` every 50 ms until it returns a value other than undefined, up to `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
