// The adversarial harness: a real stack (router + repository + admin) with utils/echo READY, bad inputs thrown at it,
// and the proof that nothing changed: same workers READY with the same pids, no new file, no new process, echo served.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import type { Event, Reply } from '../../src/proto/types.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { startStack, type RunningStack } from '../../src/up/stack.js';
import { FIXTURE_CONNECTORS, ROOT } from '../helpers/stack.js';

/** What must not change when a bad input is refused. */
interface Snapshot {
  workers: string[];
  files: string[];
  children: number[];
}

export interface Adversary {
  stack: RunningStack;
  stateDir: string;
  /** The served repository folder: bad products are written straight into it. */
  repoDir: string;
  admin: RouterRpc;
  client: RouterRpc;
  adminToken: string;
  clientToken: string;
  events: Event[];
  /** An ADMIN_* (or any) command with the admin token. */
  send(command: string, payload: unknown, timeoutMs?: number): Promise<Reply>;
  snapshot(): Promise<Snapshot>;
  /** Asserts nothing changed since `before`, and that a client is still served by the READY echo worker. */
  expectUnchanged(before: Snapshot): Promise<void>;
  /** Writes a product into the repository: versions.yaml, pivot, keys layers, zips. */
  publish(type: string, product: string, files: Record<string, string | Buffer>): Promise<void>;
  close(): Promise<void>;
}

/** A pivot with one command, for bad products that must get as far as the package step. */
export const SIMPLE_PIVOT = 'commands:\n  - name: PING\n    schema: { type: object }\n';

/** Pids whose parent is this test process (the admin's workers: the admin runs in-process). */
export function childPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') pids.push(Number(name));
    } catch {
      // gone while scanning
    }
  }
  return pids.sort((a, b) => a - b);
}

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

/** Starts the stack with small limits (entries 50, unpacked 8 MiB) and utils/echo ^1 READY. */
export async function startAdversary(): Promise<Adversary> {
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-adv-'));
  const config = parseAdminConfigObject({
    stateDir, mode: 'production',
    router: { address: `unix:${join(stateDir, 'router.sock')}` },
    ops: { listen: '127.0.0.1:0' },
    timeouts: { start: '10s', drain: '3s', kill: '1s' },
    limits: { entries: 50, unpackedBytes: '8MiB' },
    connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' } }],
  }, { file: '<adversarial>', env: {} });
  const stack = await startStack({
    config, connectorsDir: [join(ROOT, 'connectors'), FIXTURE_CONNECTORS],
    logger: createLogger('adversarial', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' }),
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const { adminToken, clientToken } = stack.credentials;
  const admin = createRouterRpc({ address: stack.router.address, token: adminToken });
  const client = createRouterRpc({ address: stack.router.address, token: clientToken });
  const events: Event[] = [];
  const watch = admin.watchEvents({ topics: ['admin', 'router'] });
  watch.on('data', (e: Event) => events.push(e));
  watch.on('error', () => undefined);
  const repoDir = join(stateDir, 'repository');

  const send = (command: string, payload: unknown, timeoutMs = 30_000): Promise<Reply> =>
    admin.sendCommand({ command, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), timeout_ms: timeoutMs });
  const workers = async (): Promise<string[]> => {
    const reply = await send('ADMIN_LIST_WORKERS', {});
    const rows = (JSON.parse(reply.payload) as { workers: Array<Record<string, unknown>> }).workers;
    return rows.map((w) => `${String(w['identifier'])}@${String(w['version'])} ${String(w['state'])} pid ${String(w['pid'])}`);
  };
  const snapshot = async (): Promise<Snapshot> => ({
    workers: await workers(),
    files: [...filesUnder(join(stateDir, 'workers')), ...filesUnder(join(stateDir, 'packages'))],
    children: childPids(),
  });

  return {
    stack, stateDir, repoDir, admin, client, adminToken, clientToken, events, send, snapshot,
    async expectUnchanged(before) {
      const after = await snapshot();
      expect(after.workers).toEqual(before.workers);
      expect(after.workers.some((w) => / READY /.test(w))).toBe(true);
      expect(after.files).toEqual(before.files);
      expect(after.children).toEqual(before.children);
      const n = Math.random();
      const echo = await client.sendCommand({ command: 'ECHO', payload: JSON.stringify({ n }), timeout_ms: 10_000 });
      expect(echo).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1' });
      expect(JSON.parse(echo.payload)).toEqual({ n });
    },
    async publish(type, product, files) {
      for (const [rel, data] of Object.entries(files)) {
        const path = join(repoDir, type, product, rel);
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, data);
      }
    },
    async close() {
      watch.cancel();
      admin.close();
      client.close();
      await stack.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
