// An in-process stack (router + packed repository + admin) built from parts, so a test can set what `up` does not
// expose: a log capture, a spawner observer, the memory sample interval.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startAdmin, type AdminOptions, type Admin } from '../../src/admin/admin.js';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import { startRepositoryServer, type RepositoryServer } from '../../src/repository/server.js';
import { startRouter, type RunningRouter } from '../../src/router/server.js';
import { makeToken } from '../helpers/router.js';
import { ROOT } from '../helpers/stack.js';

const SECURITY_CONNECTORS = join(ROOT, 'test/security/fixtures/connectors');

export interface PartsStack {
  dir: string;
  router: RunningRouter;
  admin: Admin;
  repository: RepositoryServer;
  adminToken: string;
  clientToken: string;
  /** Every log line (router, admin, workers' output), JSON text. */
  logs(): string;
  close(): Promise<void>;
}

/** Starts the parts on a unix socket in a fresh temp state dir; `connectors` go into the admin config as written. */
export async function startPartsStack(opts: {
  connectors: unknown[];
  admin?: Partial<Pick<AdminOptions, 'spawner' | 'memorySampleMs'>>;
  mode?: 'development' | 'production';
}): Promise<PartsStack> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sec-'));
  let text = '';
  const logger = createLogger('security', { level: 'debug', destination: new Writable({ write(chunk, _e, done) { text += String(chunk); done(); } }) });
  const adminToken = makeToken();
  const clientToken = makeToken();
  const closers: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0)) await c().catch(() => undefined);
  };
  try {
    for (const src of [join(ROOT, 'connectors'), SECURITY_CONNECTORS]) await packRepository({ src, out: join(dir, 'repository') });
    const repository = await startRepositoryServer({ dir: join(dir, 'repository'), listen: '127.0.0.1:0' });
    closers.unshift(() => repository.close());
    const router = await startRouter({ listen: `unix:${join(dir, 'router.sock')}`, stateDir: dir, adminToken, clientToken, logger: logger.child({ component: 'router' }) });
    closers.unshift(() => router.close());
    const config = parseAdminConfigObject({
      stateDir: dir, mode: opts.mode ?? 'development',
      router: { address: router.address }, ops: { listen: '127.0.0.1:0' },
      timeouts: { start: '10s', drain: '3s', kill: '1s' },
      connectors: opts.connectors,
    }, { file: '<security>', env: {} });
    const admin = await startAdmin({
      config, adminToken, routerAddress: router.address, repositoryUrl: repository.url,
      logger: logger.child({ component: 'admin' }), backoff: { initialDelayMs: 50, maxDelayMs: 200 }, ...opts.admin,
    });
    closers.unshift(() => admin.close());
    await admin.startConfiguredConnectors();
    return { dir, router, admin, repository, adminToken, clientToken, logs: () => text, close };
  } catch (error) {
    await close();
    throw error;
  }
}
