// A start that fails at a later step undoes the earlier ones: nothing of the admin (or of `up`) stays connected or
// listening. The open handles of this test process (a file of its own) are compared before and after.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdmin } from '../../src/admin/admin.js';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { startBareStack } from '../helpers/stack.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

const logger = createLogger('test', { level: 'silent' });
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-unwind-'));
  dirs.push(dir);
  return dir;
};

// Sockets, servers and pipes of this process, by kind (timers come and go with vitest itself: not counted).
const IO = new Set(['TCPServerWrap', 'TCPSocketWrap', 'PipeServerWrap', 'PipeWrap', 'FSReqCallback', 'FileHandle']);
const openIo = (): string[] => process.getActiveResourcesInfo().filter((kind) => IO.has(kind)).sort();

/** The handles open now beyond those of `before` (kind by kind). */
function extra(before: string[]): string[] {
  const left = [...before];
  return openIo().filter((kind) => {
    const i = left.indexOf(kind);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** Waits until no handle beyond those of `before` is open (closing sockets take a few turns), up to 10 s; returns the extra ones. */
async function leftOver(before: string[]): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (extra(before).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return extra(before);
}

const adminConfig = (stateDir: string, extra: Record<string, unknown> = {}) =>
  parseAdminConfigObject({ stateDir, ops: { listen: '127.0.0.1:0' }, connectors: [], ...extra }, { file: '<test>', env: {} });

let router: TestRouter;
beforeAll(async () => {
  router = await startTestRouter();
});
afterAll(async () => {
  await router?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a failed admin start leaves nothing running', () => {
  it('router unreachable: the start is refused and nothing stays open', async () => {
    const before = openIo();
    const stateDir = tempDir();
    const start = startAdmin({ config: adminConfig(stateDir), adminToken: router.adminToken, routerAddress: `unix:${join(stateDir, 'no-router.sock')}`, logger });
    await expect(start).rejects.toThrow();
    expect(await leftOver(before)).toEqual([]);
  });

  it('a step after the router connection fails (an unknown runAs user): the admin leaves the router again', async () => {
    const before = openIo();
    const config = adminConfig(tempDir(), { connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], runAs: 'no-such-user-wa-test' }] });
    await expect(startAdmin({ config, adminToken: router.adminToken, routerAddress: router.address, logger })).rejects.toThrow(/no-such-user-wa-test/);
    expect(await leftOver(before)).toEqual([]);
    // The router no longer lists it, and a good admin starts in its place.
    const rpc = createRouterRpc({ address: router.address, token: router.adminToken });
    try {
      const deadline = Date.now() + 10_000;
      let listed = (await rpc.listWorkers()).workers.map((w) => w.identifier);
      while (listed.includes('admin') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        listed = (await rpc.listWorkers()).workers.map((w) => w.identifier);
      }
      expect(listed).not.toContain('admin');
      const good = await startAdmin({ config: adminConfig(tempDir()), adminToken: router.adminToken, routerAddress: router.address, logger });
      expect((await rpc.listWorkers()).workers.filter((w) => w.identifier === 'admin')).toHaveLength(1);
      await good.close();
    } finally {
      rpc.close();
    }
  });
});

describe('a failed `up` start leaves nothing running', () => {
  let taken: Server;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
  });

  it('ops port taken: router, repository and admin started before it are all closed again', async () => {
    const before = openIo();
    const port = (taken.address() as { port: number }).port;
    await expect(startBareStack(tempDir(), { ops: { listen: `127.0.0.1:${port}` } })).rejects.toThrow(/EADDRINUSE|in use/);
    expect(await leftOver(before)).toEqual([]);
  });
});
