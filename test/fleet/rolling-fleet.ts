// The fleet the rollout tests roll: real nats-server and etcd, 3 `up` hosts, tests/rolling placed 6 times (2 a host)
// and READY on 1.1; later versions are published once it is. What the tests read: each host's ops API view, the
// rollout record, K/running and K/reports straight from etcd.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import type { LocalFleet } from '../../src/fleet/demo/local-fleet.js';
import { fleetKeys } from '../../src/fleet/keys.js';
import type { HostReport, InstanceReport, RunningVersion } from '../../src/fleet/placement/types.js';
import type { RolloutRecord } from '../../src/fleet/rollout/types.js';
import type { Reply } from '../../src/proto/types.js';
import type { RouterRpc } from '../../src/sdk/rpc.js';
import { publishVersion } from '../update/harness.js';
import { fleetRpcs, startFleetEngines, until, type FleetEngines } from './engines.js';

export const HOSTS = ['host-a', 'host-b', 'host-c'];
export const PRODUCT = 'tests/rolling';

export interface FleetView {
  coordinator: { host: string } | null;
  hosts: Array<{ name: string; status: string; instances: Array<{ identifier: string; product: string; version: string; state: string }> }>;
  rollouts?: RolloutRecord[];
}

export interface RollingFleet {
  engines: FleetEngines;
  fleet: LocalFleet;
  rpc(host: string, admin?: boolean): RouterRpc;
  /** ADMIN_UPDATE of tests/rolling through `host`'s router, with the admin token. */
  update(host: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  /** GET /api/v1/fleet of `host`; undefined when it does not answer (killed). */
  view(host: string): Promise<FleetView | undefined>;
  /** READY tests/rolling instances fleet-wide, by version, as `host` sees them. */
  versions(host?: string): Promise<Record<string, number>>;
  /** K/rollouts/tests/rolling: the current or last rollout. */
  rollout(): Promise<RolloutRecord | undefined>;
  /** K/running/tests/rolling. */
  running(): Promise<RunningVersion | undefined>;
  /** Every host's K/reports lines of tests/rolling. */
  reports(): Promise<InstanceReport[]>;
  close(): Promise<void>;
}

type Kind = Parameters<typeof publishVersion>[3];

/** Starts the fleet with `update` as the connector's update block (YAML flow map), then publishes `later`. */
export async function startRollingFleet(update: string, later: Array<[version: string, kind: Kind]>): Promise<RollingFleet> {
  const repo = mkdtempSync(join(tmpdir(), 'wa-fleet-roll-'));
  const engines = await startFleetEngines();
  const prefix = `/wa-rolling-${process.pid}-${Date.now().toString(36)}`;
  const keys = fleetKeys(prefix);
  const etcd = new Etcd3({ hosts: engines.etcd.url });
  let fleet: LocalFleet | undefined;
  const rpcs = fleetRpcs(() => engines, () => fleet!);
  const json = async <T>(key: string): Promise<T | undefined> => {
    const text = await etcd.get(key).string();
    return text === null ? undefined : (JSON.parse(text) as T);
  };
  const self: RollingFleet = {
    engines,
    get fleet(): LocalFleet {
      return fleet!;
    },
    rpc: rpcs.rpc,
    update: (host, payload, timeoutMs = 300_000) =>
      rpcs.rpc(host, true).sendCommand({ command: 'ADMIN_UPDATE', payload: JSON.stringify({ product: PRODUCT, ...payload }), timeout_ms: timeoutMs }, { deadlineMs: timeoutMs + 30_000 }),
    async view(host) {
      try {
        return (await (await fetch(`http://${fleet!.host(host).ops}/api/v1/fleet`, { signal: AbortSignal.timeout(3000) })).json()) as FleetView;
      } catch {
        return undefined;
      }
    },
    async versions(host = 'host-a') {
      const out: Record<string, number> = {};
      for (const h of (await self.view(host))?.hosts ?? []) {
        if (h.status !== 'live') continue;
        for (const i of h.instances) if (i.product === PRODUCT && i.state === 'READY') out[i.version] = (out[i.version] ?? 0) + 1;
      }
      return out;
    },
    rollout: () => json<RolloutRecord>(keys.rollouts('tests', 'rolling')),
    running: () => json<RunningVersion>(keys.running('tests', 'rolling')),
    async reports() {
      const all = await etcd.getAll().prefix(keys.reportsPrefix).strings();
      return Object.values(all).flatMap((text) => (JSON.parse(text) as HostReport).instances).filter((i) => i.identifier.startsWith('tests-rolling-'));
    },
    async close() {
      rpcs.close();
      etcd.close();
      await engines.close();
      rmSync(repo, { recursive: true, force: true });
    },
  };
  try {
    cpSync(engines.repositoryDir, repo, { recursive: true });
    await publishVersion(repo, 'rolling', '1.1', 'good');
    fleet = await engines.fleet({ repositoryDir: repo, prefix, leaseTtl: '3s', reassignAfter: '8s', hosts: HOSTS.map((name) => ({ name })) });
    const applied = await rpcs.rpc('host-a', true).sendCommand({
      command: 'ADMIN_FLEET_APPLY', timeout_ms: 30_000,
      payload: JSON.stringify({ file: 'desired.yaml', text: `connectors:\n  - { type: tests, product: rolling, versions: ["^1"], instances: 6, update: ${update} }\n` }),
    });
    if (applied.status !== 'SUCCESS') throw new Error(`fleet apply: ${applied.error}`);
    await until(async () => (await self.versions())['1.1'] === 6, 180_000, '6 instances READY on 1.1');
    for (const [version, kind] of later) await publishVersion(repo, 'rolling', version, kind);
    return self;
  } catch (error) {
    await self.close().catch(() => undefined);
    throw error;
  }
}
