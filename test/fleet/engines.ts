// Fleet test set-up: one nats-server and one etcd per test file (data on /dev/shm), a packed repository, tokens.
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, startEtcd, startNatsServer, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { parseProcStat } from '../../src/process/proc.js';
import { beforeEach } from 'vitest';
import { startLocalFleet, type LocalFleet, type LocalFleetOptions } from '../../src/fleet/demo/local-fleet.js';
import { packedRepository } from '../helpers/stack.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';

/** Why fleet tests cannot run here (a binary missing), with the command that installs it; undefined when they can. */
export async function fleetSkipReason(): Promise<string | undefined> {
  const missing: string[] = [];
  if (!(await findBinary('nats-server'))) missing.push('nats-server');
  if (!(await findBinary('etcd'))) missing.push('etcd-server');
  if (missing.length === 0) return undefined;
  const reason = `fleet tests skipped: ${missing.join(' and ')} not installed (apt-get install -y ${missing.join(' ')})`;
  console.warn(reason);
  return reason;
}

export interface FleetEngines {
  dir: string;
  nats: LocalServer;
  etcd: LocalServer;
  tokens: { admin: string; client: string };
  repositoryDir: string;
  /** Stops nats-server (or etcd) and starts it again on the same port and data dir; `down` runs while it is stopped. */
  restart(which: 'nats' | 'etcd', down?: () => Promise<void>): Promise<void>;
  /** A fleet under its own prefix on these engines. */
  fleet(options: Pick<LocalFleetOptions, 'hosts'> & Partial<LocalFleetOptions>): Promise<LocalFleet>;
  close(): Promise<void>;
}

let prefixes = 0;

/** Engines for one test file; every fleet started through it gets its own etcd prefix and its own host dirs. */
export async function startFleetEngines(): Promise<FleetEngines> {
  const base = process.platform === 'linux' ? '/dev/shm' : undefined;
  const dir = mkdtempSync(join(base ?? '/tmp', 'wa-fleet-'));
  let nats = await startNatsServer({ dir: join(dir, 'nats') });
  let etcd = await startEtcd({ dir: join(dir, 'etcd') }).catch(async (error: unknown) => {
    await nats.stop();
    throw error;
  });
  const tokens = { admin: randomBytes(24).toString('hex'), client: randomBytes(24).toString('hex') };
  const repositoryDir = await packedRepository();
  const fleets: LocalFleet[] = [];
  const engines: FleetEngines = {
    dir, nats, etcd, tokens, repositoryDir,
    async restart(which, down) {
      if (which === 'nats') {
        const port = nats.port;
        await nats.stop();
        await down?.();
        nats = await startNatsServer({ dir: join(dir, 'nats'), port });
        engines.nats = nats;
      } else {
        const { port, peerPort } = etcd;
        await etcd.stop();
        await down?.();
        etcd = await startEtcd({ dir: join(dir, 'etcd'), clientPort: port, ...(peerPort ? { peerPort } : {}) });
        engines.etcd = etcd;
      }
    },
    async fleet(options) {
      prefixes += 1;
      const fleet = await startLocalFleet({
        dir: join(dir, `fleet-${prefixes}`),
        repositoryDir,
        tokens,
        engines: { nats: [nats.url], etcd: [etcd.url] },
        prefix: `/wa-test-${process.pid}-${prefixes}`,
        env: { WORKER_ADMIN_LOG_LEVEL: 'info' },
        ...options,
      });
      fleets.push(fleet);
      return fleet;
    },
    async close() {
      for (const fleet of fleets) await fleet.close().catch(() => undefined);
      await nats.stop();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return engines;
}

/** Calls `probe` until it returns true (outside a test, where expect.poll is not allowed); rejects after `ms`. */
export async function until(probe: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Router clients of a fleet's hosts, with the fleet's admin or client token; close() closes every one made. */
export function fleetRpcs(engines: () => FleetEngines, fleet: () => LocalFleet): { rpc(host: string, admin?: boolean): RouterRpc; close(): void } {
  const made: RouterRpc[] = [];
  return {
    rpc(host, admin = false) {
      const r = createRouterRpc({ address: fleet().host(host).router, token: admin ? engines().tokens.admin : engines().tokens.client });
      made.push(r);
      return r;
    },
    close() {
      for (const r of made.splice(0)) r.close();
    },
  };
}

/** One etcd for a test file that drives the coordinator's parts by hand (no NATS, no hosts), with an admin client. */
export async function startStandaloneEtcd(name: string, extraArgs: string[] = []): Promise<{ etcd: LocalServer; admin: Etcd3; close(): Promise<void> }> {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', `wa-${name}-`));
  const etcd = await startEtcd({ dir: join(dir, 'etcd'), extraArgs });
  const admin = new Etcd3({ hosts: etcd.url });
  return {
    etcd, admin,
    async close() {
      admin.close();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Inside a describe: a failing test prints the last lines each host of `fleet()` logged (a fault's cause is there). */
export function showHostLogsOnFailure(fleet: () => LocalFleet | undefined, lines = 80): void {
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const h of fleet()?.hosts ?? []) console.error(`--- ${h.name}: the last lines it logged ---\n${h.log().split('\n').slice(-lines).join('\n')}`);
    });
  });
}

/** Every thread of `pid` is in the stopped state (`T` in /proc/PID/task/TID/stat): a SIGSTOP has taken hold. */
export function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) => parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))?.state === 'T');
}
