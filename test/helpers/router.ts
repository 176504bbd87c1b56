// A real router for tests: fresh state dir and tokens, on a unix socket (default) or TCP port 0.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRouter, type RouterOptions, type RunningRouter } from '../../src/router/server.js';

export interface TestRouter {
  router: RunningRouter;
  address: string;
  adminToken: string;
  clientToken: string;
  stateDir: string;
  close(): Promise<void>;
}

interface TestRouterOptions {
  transport?: 'unix' | 'tcp';
  /** false: start without a client token (only the admin token works). Default true. */
  clientToken?: boolean;
  timeouts?: RouterOptions['timeouts'];
  limits?: RouterOptions['limits'];
  observer?: RouterOptions['observer'];
  store?: RouterOptions['store'];
  /** Reuse a state dir (restart tests); it is then not removed at close. */
  stateDir?: string;
  /** Reuse tokens (restart tests). */
  tokens?: { adminToken: string; clientToken: string };
}

/** A fresh random token (64 hex characters). */
export function makeToken(): string {
  return randomBytes(32).toString('hex');
}

/** Starts a router; `close()` stops it and removes the state dir it made. */
export async function startTestRouter(opts: TestRouterOptions = {}): Promise<TestRouter> {
  // Short path: unix socket paths are limited to 107 bytes.
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'wa-r-')));
  const adminToken = opts.tokens?.adminToken ?? makeToken();
  const clientToken = opts.tokens?.clientToken ?? makeToken();
  const transport = opts.transport ?? 'unix';
  const router = await startRouter({
    listen: transport === 'unix' ? `unix:${join(stateDir, 'router.sock')}` : '127.0.0.1:0',
    stateDir,
    adminToken,
    ...(opts.clientToken === false ? {} : { clientToken }),
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.observer ? { observer: opts.observer } : {}),
    ...(opts.store ? { store: opts.store } : {}),
  });
  let closed: Promise<void> | undefined;
  return {
    router,
    address: router.address,
    adminToken,
    clientToken,
    stateDir,
    close: () =>
      (closed ??= (async () => {
        await router.close();
        if (!opts.stateDir) await rm(stateDir, { recursive: true, force: true });
      })()),
  };
}
