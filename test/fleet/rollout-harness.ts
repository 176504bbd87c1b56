// A fleet for the rollout runner's tests on a real etcd: the coordinator's real pass (placement, then the runner) under
// a test clock, and hosts simulated by writing what their admins would report (the multi-host e2e runs real hosts).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { startEtcd } from '../../src/fleet/engines/local-servers.js';
import { FencedWriter } from '../../src/fleet/coordinator/fenced.js';
import { runPass } from '../../src/fleet/coordinator/pass.js';
import type { DesiredConnector } from '../../src/fleet/desired/types.js';
import { fleetKeys, type FleetKeys } from '../../src/fleet/keys.js';
import type { HostAssignments, HostReport, InstanceReport, RunningVersion } from '../../src/fleet/placement/types.js';
import type { HostRecord } from '../../src/fleet/registry/host-record.js';
import { RolloutRunner } from '../../src/fleet/rollout/runner.js';
import type { RolloutControl, RolloutRecord, RolloutRequest } from '../../src/fleet/rollout/types.js';

export const logger = createLogger('rollout-test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' });

/** How a simulated host treats a version: `swap-fails` keeps the old one serving with the error; `crash` reports FAILED. */
type Breakage = 'swap-fails' | 'crash' | 'stall' | 'restarts';

let prefixes = 0;

/** One etcd for a test file (data on /dev/shm), a client of it, and how to stop both. */
export async function startTestEtcd(name: string): Promise<{ client: Etcd3; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', `wa-${name}-`));
  const etcd = await startEtcd({ dir: join(dir, 'etcd') });
  const client = new Etcd3({ hosts: etcd.url });
  return {
    client,
    async stop() {
      client.close();
      await etcd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For a describe block: one etcd for it, and a fresh `sixOnThree` fleet (own prefix) before each test. */
export function freshFleetEachTest(name: string, update: Partial<DesiredConnector['update']> = {}): { readonly fleet: RolloutFleet; readonly client: Etcd3 } {
  let engine: Awaited<ReturnType<typeof startTestEtcd>> | undefined;
  let fleet: RolloutFleet | undefined;
  beforeAll(async () => {
    engine = await startTestEtcd(name);
  }, 60_000);
  afterAll(async () => {
    await engine?.stop();
  }, 60_000);
  beforeEach(async () => {
    fleet = await RolloutFleet.sixOnThree(engine!.client, update);
  });
  return {
    get fleet() {
      return fleet!;
    },
    get client() {
      return engine!.client;
    },
  };
}

export class RolloutFleet {
  /** The coordinator of now: its term's writer and its runner (see takeOver). */
  writer!: FencedWriter;
  runner!: RolloutRunner;
  readonly keys: FleetKeys;
  now = 1_700_000_000_000;
  readonly events: Array<{ event: string; payload: Record<string, unknown> }> = [];
  /** Versions the repository lists. */
  versions = ['1.1', '1.2', '1.3', '1.4'];
  /** What simulated hosts do with a version. */
  readonly broken = new Map<string, Breakage>();
  private readonly incarnations = new Map<string, string>();
  private readonly running = new Map<string, Map<string, InstanceReport>>();

  constructor(readonly etcd: Etcd3, readonly startTimeoutMs = 20_000) {
    prefixes += 1;
    this.keys = fleetKeys(`/rollout-test-${process.pid}-${prefixes}`);
  }

  /** 6 instances of utils/echo placed over host-a, host-b and host-c, READY on 1.2; the repository lists up to 1.3. */
  static async sixOnThree(etcd: Etcd3, update: Partial<DesiredConnector['update']> = {}): Promise<RolloutFleet> {
    const fleet = new RolloutFleet(etcd);
    fleet.versions = ['1.1', '1.2', '1.3'];
    await fleet.hosts('host-a', 'host-b', 'host-c');
    await fleet.desire(6, update);
    await fleet.takeOver('host-a');
    await fleet.pass();
    await fleet.converge();
    return fleet;
  }

  /** `host` becomes the coordinator: a new term, a new runner. */
  async takeOver(host: string): Promise<void> {
    this.writer = await this.elect(host);
    this.runner = this.newRunner(host);
  }

  /** Becomes coordinator (a new election key, so a new term) and returns the term's writer. */
  async elect(host = 'host-a'): Promise<FencedWriter> {
    await this.etcd.delete().key(this.keys.coordinator);
    const put = await this.etcd.put(this.keys.coordinator).value(JSON.stringify({ host, incarnation: `${host}-1`, since: this.now })).exec();
    let current = true;
    return new FencedWriter({ etcd: this.etcd, keys: this.keys, logger }, String(put.header.revision), {
      current: () => current,
      refused: () => {
        current = false;
      },
    });
  }

  newRunner(host: string): RolloutRunner {
    return new RolloutRunner({
      keys: this.keys, host, startTimeoutMs: this.startTimeoutMs, logger,
      listVersions: async () => this.versions.map((version) => ({ version })),
      publish: (event, payload) => this.events.push({ event, payload }),
    });
  }

  /** One coordinator pass: placement, then the runner, at the test clock (the coordinator of now, unless given). */
  async pass(runner = this.runner, writer = this.writer): Promise<void> {
    await runPass({
      etcd: this.etcd, keys: this.keys, reassignAfterMs: 300_000, rollouts: runner, logger, now: () => this.now,
      resolveVersion: async () => '1.2',
    }, writer);
  }

  /** `n` passes, each followed by the hosts converging and the clock moving 5 s on. */
  async turns(n: number): Promise<void> {
    for (let i = 0; i < n; i += 1) {
      await this.pass();
      await this.converge();
      this.now += 5000;
    }
  }

  /** Turns (each then a pause of real time for watches to deliver) until `work` settles. */
  async whilePassing<T>(work: Promise<T>, pauseMs = 10): Promise<T> {
    let settled = false;
    work.then(() => (settled = true), () => (settled = true));
    for (let i = 0; i < 400 && !settled; i += 1) {
      await this.turns(1);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    return work;
  }

  async hosts(...names: string[]): Promise<void> {
    for (const name of names) {
      const incarnation = `${name}-${(this.incarnations.size + 1).toString()}`;
      this.incarnations.set(name, incarnation);
      const record: HostRecord = {
        name, incarnation, inbox: `inbox-${name}`, protocol: 1, labels: {}, capacity: null, addresses: { router: '', ops: '' },
        version: '0.1', startedAt: this.now, state: 'live', instances: [], serves: [], declares: [],
      };
      await this.etcd.put(this.keys.hosts(name)).value(JSON.stringify(record));
    }
  }

  /** The host's lease lapsed: its record and its report are gone. */
  async lose(name: string): Promise<void> {
    await this.etcd.delete().key(this.keys.hosts(name));
    await this.etcd.delete().key(this.keys.reports(name));
    this.incarnations.delete(name);
    this.running.delete(name);
  }

  async desire(instances: number, update: Partial<DesiredConnector['update']> = {}): Promise<void> {
    const desired: DesiredConnector = {
      type: 'utils', product: 'echo', versions: ['^1'], instances, hosts: {}, config: { greeting: 'hi' }, restart: 'always',
      update: { mode: 'manual', intervalMs: 60_000, range: undefined, at: undefined, maxParallel: 1, canary: 0, minHealthyMs: 10_000, ...update },
      applied: { by: 'test', at: this.now, file: 'desired.yaml', digest: 'd' },
    };
    await this.etcd.put(this.keys.desired('utils', 'echo')).value(JSON.stringify(desired));
  }

  async request(id: string, fields: Partial<RolloutRequest> = {}): Promise<void> {
    const request: RolloutRequest = {
      id, version: undefined, maxParallel: undefined, canary: undefined, minHealthyMs: undefined, trigger: 'command', by: 'test', at: this.now, ...fields,
    };
    await this.etcd.put(this.keys.rolloutRequest('utils', 'echo', id)).value(JSON.stringify(request));
  }

  /** A control for the rollout in progress (or for `rolloutId`). */
  async control(action: RolloutControl['action'], rolloutId?: string): Promise<void> {
    const id = rolloutId ?? (await this.record())?.id ?? 'none';
    await this.etcd.put(this.keys.rolloutControl('utils', 'echo')).value(JSON.stringify({ action, rolloutId: id, at: this.now, by: 'test' } satisfies RolloutControl));
  }

  /** Every simulated host converges to its assignments (a swap is instant) and reports. */
  async converge(): Promise<void> {
    for (const [host, incarnation] of this.incarnations) {
      const kv = (await this.etcd.get(this.keys.assignments(host)).exec()).kvs[0];
      const assigned = kv ? (JSON.parse(kv.value.toString()) as HostAssignments).instances : [];
      const mine = this.running.get(host) ?? new Map<string, InstanceReport>();
      for (const id of [...mine.keys()]) if (!assigned.some((a) => a.identifier === id)) mine.delete(id);
      for (const a of assigned) mine.set(a.identifier, this.swap(mine.get(a.identifier), a.identifier, a.version));
      this.running.set(host, mine);
      const report: HostReport = { incarnation, at: this.now, assignments: kv ? String(kv.mod_revision) : null, instances: [...mine.values()] };
      await this.etcd.put(this.keys.reports(host)).value(JSON.stringify(report));
    }
  }

  private swap(line: InstanceReport | undefined, identifier: string, version: string): InstanceReport {
    const broken = this.broken.get(version);
    if (line?.version === version) {
      // a version that restarts keeps doing so
      return broken === 'restarts' ? { ...line, restarts: line.restarts + 1 } : line;
    }
    const ready: InstanceReport = { identifier, version, state: 'READY', readySince: this.now, restarts: 0, error: null, failedVersion: null };
    switch (broken) {
      case undefined:
      case 'restarts':
        return ready;
      case 'crash':
        return { ...ready, state: 'FAILED', readySince: null, error: 'WORKER_EXITED: the worker exited with code 1 before it was READY' };
      case 'stall':
        return { ...ready, state: 'STARTING', readySince: null };
      case 'swap-fails':
        return line ? { ...line, error: `START_TIMEOUT: ${identifier} ${version} was not READY within 20000 ms`, failedVersion: version } : { ...ready, state: 'FAILED', readySince: null };
    }
  }

  /** identifier → [host, version] as assigned now. */
  async assignments(): Promise<Map<string, { host: string; version: string }>> {
    const out = new Map<string, { host: string; version: string }>();
    const all = await this.etcd.getAll().prefix(this.keys.assignmentsPrefix).strings();
    for (const [key, text] of Object.entries(all)) {
      for (const a of (JSON.parse(text) as HostAssignments).instances) out.set(a.identifier, { host: key.slice(this.keys.assignmentsPrefix.length), version: a.version });
    }
    return out;
  }

  /** How many instances are assigned `version`. */
  async on(version: string): Promise<number> {
    return [...(await this.assignments()).values()].filter((a) => a.version === version).length;
  }

  async record(): Promise<RolloutRecord | undefined> {
    const text = await this.etcd.get(this.keys.rollouts('utils', 'echo')).string();
    return text === null ? undefined : (JSON.parse(text) as RolloutRecord);
  }

  async runningVersion(): Promise<RunningVersion | undefined> {
    const text = await this.etcd.get(this.keys.running('utils', 'echo')).string();
    return text === null ? undefined : (JSON.parse(text) as RunningVersion);
  }

  /** Every request of utils/echo in etcd, answered or not. */
  async requests(): Promise<Map<string, RolloutRequest>> {
    const all = await this.etcd.getAll().prefix(this.keys.rolloutRequests('utils', 'echo')).strings();
    return new Map(Object.values(all).map((text) => JSON.parse(text) as RolloutRequest).map((r) => [r.id, r]));
  }

  /** Ids of the requests not answered yet. */
  async pendingRequests(): Promise<string[]> {
    return [...(await this.requests()).values()].filter((r) => !r.result).map((r) => r.id).sort();
  }

  /** The history entries of rollouts, oldest first. */
  async history(): Promise<RolloutRecord[]> {
    const all = await this.etcd.getAll().prefix(this.keys.historyPrefix).sort('Key', 'Ascend').strings();
    return Object.values(all).map((t) => JSON.parse(t) as { action: string; record?: RolloutRecord }).filter((e) => e.action === 'rollout').map((e) => e.record!);
  }

  names(): string[] {
    return this.events.map((e) => e.event);
  }
}
