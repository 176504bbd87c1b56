// `runAs`: what a worker running as another user needs to reach (state dir, router socket), and the root warning.
import { chmod, chown, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Address } from '../common/address.js';
import type { Logger } from '../common/log.js';
import { lookupUser, type UserInfo } from './user.js';

/** A connector's name and runAs, as the check below needs them. */
interface RunAsConnector {
  ref: string;
  runAs: string | undefined;
}

/** True when this process runs as root (workers it spawns without runAs run as root too). */
function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Logs a warning per connector whose workers would run as root: downloaded code should not. */
function warnRootWorkers(connectors: readonly RunAsConnector[], logger: Logger, isRoot = runningAsRoot()): string[] {
  if (!isRoot) return [];
  const asRoot = connectors.filter((c) => !c.runAs).map((c) => c.ref);
  if (asRoot.length > 0) {
    logger.warn({ connectors: asRoot }, `the admin runs as root and ${asRoot.join(', ')} ha${asRoot.length === 1 ? 's' : 've'} no runAs: those workers (downloaded code) run as root`);
  }
  return asRoot;
}

/** The users of the connectors' runAs, looked up once (CONFIG_INVALID for an unknown one). */
function runAsUsers(connectors: readonly RunAsConnector[], lookup: (runAs: string) => UserInfo = lookupUser): UserInfo[] {
  const users = new Map<number, UserInfo>();
  for (const c of connectors) {
    if (!c.runAs) continue;
    const user = lookup(c.runAs);
    users.set(user.uid, user);
  }
  return [...users.values()];
}

/**
 * Lets workers of group `gid` reach the state dir and the router socket: state dir 0710 and socket 0660 with that
 * group (instead of 0700 / 0600). The unpacked packages stay root-owned and read-only to them (0755/0644): a worker
 * must not rewrite code another run (maybe as root) executes later.
 */
async function shareWithGroup(opts: { stateDir: string; router: Address; gid: number; logger: Logger }): Promise<void> {
  const { stateDir, router, gid, logger } = opts;
  await chown(stateDir, -1, gid);
  await chmod(stateDir, 0o710);
  if (router.kind !== 'unix') return;
  const socketDir = dirname(router.path);
  const mine = (await stat(socketDir).catch(() => undefined))?.uid === process.getuid?.();
  if (socketDir !== stateDir && mine) {
    await chown(socketDir, -1, gid);
    await chmod(socketDir, 0o710);
  }
  const socket = await stat(router.path).catch(() => undefined);
  if (socket?.isSocket() && socket.uid === process.getuid?.()) {
    await chown(router.path, -1, gid);
    await chmod(router.path, 0o660);
  } else {
    logger.warn({ socket: router.path }, 'runAs: the router socket is not ours to share; start the router with socketGroup so runAs workers can connect');
  }
  logger.info({ stateDir, gid }, 'runAs: state dir 0710 and router socket 0660 shared with the workers\' group');
}

/** At admin start: warn about root workers, check every runAs user exists, share state dir and socket with their group. */
export async function prepareRunAs(opts: { connectors: readonly RunAsConnector[]; stateDir: string; router: Address; logger: Logger }): Promise<void> {
  warnRootWorkers(opts.connectors, opts.logger);
  const users = runAsUsers(opts.connectors);
  const first = users[0];
  if (!first) return;
  if (new Set(users.map((u) => u.gid)).size > 1) {
    opts.logger.warn({ users: users.map((u) => u.name) }, `runAs users have different groups: only group ${first.gid} (${first.name}'s) can reach the router socket`);
  }
  await shareWithGroup({ stateDir: opts.stateDir, router: opts.router, gid: first.gid, logger: opts.logger });
}
