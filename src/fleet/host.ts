// One host of a fleet (docs/fleet.md, a host): joins through etcd and NATS, attaches to its router, leaves on SIGTERM.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { NatsConnection } from '@nats-io/transport-node';
import { writeFileAtomic } from '../common/credentials.js';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import type { RouterFleetPort } from '../router/fleet-port.js';
import type { RunningRouter } from '../router/server.js';
import { UuidClaims } from './claims/uuid-claims.js';
import { IdentifierClaims } from './claims/identifiers.js';
import type { FleetConfig } from './config.js';
import { fleetConfigurationStore } from './config-store.js';
import { connectEtcd } from './engines/etcd.js';
import { connectNats } from './engines/nats.js';
import { HostDirectory } from './registry/directory.js';
import { localView, parseHostRecord, type HostRecord } from './registry/host-record.js';
import { HostLeases, withDeadline, type LeaseHealth } from './registry/leases.js';
import { Inbound } from './remote/inbound.js';
import { Outbound } from './remote/outbound.js';
import { NatsTransport } from './transport/nats-transport.js';
import { PROTOCOL } from './transport/subjects.js';
import type { Admin } from '../admin/admin.js';
import type { Handler } from '../admin/commands/context.js';
import type { ProductRef } from '../admin/payloads.js';
import { Converger } from './converge/converger.js';
import { Coordinator, coordinatorStatus } from './coordinator/coordinator.js';
import { repositoryVersions } from './coordinator/resolve.js';
import { rolloutHandlers } from './rollout/handlers.js';
import { RolloutRunner } from './rollout/runner.js';
import { desiredHandlers } from './desired/handlers.js';
import { repositorySecretKeys } from './desired/secrets.js';
import { DesiredStore } from './desired/store.js';
import { PrefixMirror } from './engines/prefix-mirror.js';
import { fleetKeys, type FleetKeys } from './keys.js';
import type { RolloutRecord } from './rollout/types.js';
import { FleetPolicies } from './policies/registry.js';
import { PolicyTicker } from './policies/ticker.js';

export type HostState = 'JOINING' | 'LIVE' | 'CUT_OFF' | 'FENCED' | 'LEAVING' | 'LEFT';

interface JoinOptions {
  config: FleetConfig;
  router: RunningRouter;
  adminToken: string;
  stateDir: string;
  /** Where this host's router and ops API listen (shown to the fleet). */
  addresses: { router: string; ops: string };
  logger: Logger;
  now?: () => number;
}

/** What `fleet status` and GET /api/v1/fleet show from this host's point of view. */
export interface FleetStatus {
  host: string;
  state: HostState;
  incarnation: string;
  engines: { nats: 'connected' | 'disconnected'; etcd: 'reachable' | 'unreachable' };
  hosts: Array<{
    name: string; status: 'live' | 'lost' | 'leaving' | 'silent'; incarnation: string; labels: Record<string, string>;
    addresses: { router: string; ops: string }; version: string; instances: HostRecord['instances'];
    /** `fleet cordon` / `fleet drain` in force on the host (K/cordons/HOST); null when none. */
    cordon?: 'cordon' | 'drain' | null;
    /** Fleet-managed instances the host takes at most; null when unbounded. */
    capacity?: number | null;
  }>;
  counters: Record<string, number>;
  /** The elected coordinator (K/coordinator); null while there is none. */
  coordinator?: { host: string; since: number } | null;
  /** Per fleet-managed product: instances wanted, READY fleet-wide, count per version, why some could not be placed. */
  desired?: Array<{ product: string; instances: number; running: number; versions: Record<string, number>; missing: string | null }>;
  /** Each product's current or last rollout (K/rollouts/). */
  rollouts?: RolloutRecord[];
}

const PREVIOUS_FILE = 'fleet-host.json';

/** Joins the fleet of `options.config`; throws FLEET_ENGINE naming the engine when one cannot be used. */
export async function joinFleet(options: JoinOptions): Promise<FleetHost> {
  const { config, logger } = options;
  const etcd = await connectEtcd(config.etcd, config.prefix);
  let nc: NatsConnection | undefined;
  try {
    nc = await connectNats(config.nats, config.host);
    const host = new FleetHost(options, etcd, nc);
    await host.join();
    return host;
  } catch (error) {
    await nc?.close().catch(() => undefined);
    etcd.close();
    logger.error({ err: errorMessage(error) }, 'fleet join failed');
    throw error;
  }
}

export class FleetHost {
  state: HostState = 'JOINING';
  readonly transport: NatsTransport;
  readonly directory: HostDirectory;
  readonly outbound: Outbound;
  readonly claims: UuidClaims;
  readonly identifiers: IdentifierClaims;
  /** This host's ops policies in the fleet: their names, and the ticks the coordinator writes for them. */
  readonly policies: FleetPolicies;
  private inbound: Inbound | undefined;
  private port: RouterFleetPort | undefined;
  private leases: HostLeases | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private writeTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly startedAt: number;
  private readonly now: () => number;
  private leaving: Promise<void> | undefined;
  private readonly inboxToken = randomBytes(6).toString('hex');
  readonly keys: FleetKeys;
  /** The products with a desired state (K/desired/): fleet-managed. */
  private readonly desired: PrefixMirror;
  private converger: Converger | undefined;
  private coordinator: Coordinator | undefined;
  /** Aborted when this host leaves: admins following a rollout answer at once that it goes on. */
  private adminClosing: AbortController | undefined;
  /** From a lost lease until the assignments were read again: fleet-managed instances are withheld from dispatch. */
  private returning = false;

  constructor(
    private readonly options: JoinOptions,
    private readonly etcd: Etcd3,
    private readonly nc: NatsConnection,
  ) {
    const { config, logger } = options;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.keys = fleetKeys(config.prefix);
    this.desired = new PrefixMirror(etcd, this.keys.desiredPrefix, () => undefined, logger.child({ component: 'fleet-desired' }));
    const self = (): { host: string; incarnation: string } => ({ host: config.host, incarnation: this.incarnation });
    this.transport = new NatsTransport(nc, config.subjectPrefix, self, this.inboxToken, logger.child({ component: 'fleet-transport' }), this.now);
    this.directory = new HostDirectory(etcd, config.prefix, config.host, config.leaseTtlMs, {
      lost: (host, incarnation, reason) => {
        logger.warn({ host, incarnation, reason }, 'fleet host lost');
        this.outbound.hostLost(host, incarnation, reason);
      },
      changed: () => this.port?.pump(),
    }, logger.child({ component: 'fleet-directory' }), this.now);
    this.transport.batchEventsWhen(() => this.directory.allTakeBatches());
    this.outbound = new Outbound(this.directory, this.transport, options.adminToken, logger.child({ component: 'fleet-outbound' }), this.now);
    this.claims = new UuidClaims(etcd, config.prefix, {
      host: config.host,
      incarnation: () => this.incarnation,
      isLost: (host, incarnation) => host !== config.host && this.directory.live(host)?.record.incarnation !== incarnation,
    }, logger.child({ component: 'fleet-claims' }), this.now);
    this.identifiers = new IdentifierClaims(etcd, config.prefix, config.host, () => this.leases, logger.child({ component: 'fleet-identifiers' }));
    this.policies = new FleetPolicies({ etcd, keys: this.keys, host: config.host, leases: () => this.leases, logger: logger.child({ component: 'fleet-policies' }), now: this.now });
  }

  get incarnation(): string {
    return this.leases?.incarnation ?? '';
  }

  get name(): string {
    return this.options.config.host;
  }

  /** JOINING → LIVE: leases, record, subscriptions, the watch of other hosts, heartbeats. */
  async join(): Promise<void> {
    const { config, router, logger } = this.options;
    await this.takeOverPrevious();
    await this.grantLeases();
    this.port = router.attachFleet({
      host: config.host,
      remote: this.outbound,
      claims: this.claims,
      forwardEvent: (event) => {
        if (this.transport.linkUp) this.transport.publishEvent(event);
      },
      store: (local) => fleetConfigurationStore(this.etcd, config.prefix, local, logger.child({ component: 'fleet-store' })),
      withheld: (identifier) => this.withheld(identifier),
    });
    this.outbound.bind(this.port);
    this.inbound = new Inbound(this.port, {
      incarnation: () => this.incarnation,
      refusal: () => this.refusal(),
    }, this.options.adminToken, logger.child({ component: 'fleet-inbound' }), this.now);
    const inbound = this.inbound;
    await this.transport.start({
      command: (envelope, payload, answer, batched) => inbound.take(envelope, payload, answer, batched),
      answer: (id, answer) => this.outbound.answered(id, answer),
      event: (_from, event) => this.port?.deliverEvent(event),
      heartbeat: (from) => this.directory.heard(from.host, from.incarnation),
      link: (up) => {
        this.directory.deaf(!up);
        if (!up) this.outbound.transportLost();
        else this.port?.pump();
      },
    });
    await this.writeRecord();
    await withDeadline(this.etcd.put(`${config.prefix}/seen/${config.host}`).value(JSON.stringify(this.record())).exec(), 2000);
    await this.directory.start();
    await this.desired.start();
    this.port.onWorkersChanged(() => this.scheduleWrite());
    const port = this.port;
    port.onEventInterestChanged(() => this.transport.followTopics(port.eventInterest()));
    await this.transport.followTopics(port.eventInterest());
    this.heartbeat = setInterval(() => this.transport.heartbeat(), Math.max(100, Math.floor(config.leaseTtlMs / 3)));
    this.heartbeat.unref();
    this.transport.heartbeat();
    this.setState('LIVE');
  }

  /** A fleet-managed product: its instances are placed by the coordinator (docs/fleet.md, desired state). */
  managed(ref: ProductRef): boolean {
    return this.desired.values.has(this.keys.desired(ref.type, ref.product));
  }

  /**
   * The admin of this host converges its fleet-managed instances to its assignments from now on; `handlers` are the
   * fleet's ADMIN_* handlers (desired state, rollouts) it serves.
   */
  async attachAdmin(admin: Admin, env: NodeJS.ProcessEnv, handlers: Record<string, Handler> = {}): Promise<void> {
    const { config, logger } = this.options;
    const store = new DesiredStore({ client: this.etcd, prefix: config.prefix });
    const closing = new AbortController();
    this.adminClosing = closing;
    admin.useFleet({
      host: config.host, managed: (ref) => this.managed(ref),
      handlers: {
        ...desiredHandlers({ store, host: config.host, secretKeys: repositorySecretKeys(admin.context.repository) }),
        ...rolloutHandlers({
          etcd: this.etcd, keys: this.keys, host: config.host, closing: closing.signal, now: this.now,
          // ADMIN_ROLLBACK keeps auto mode from undoing it: the product's override goes manual first
          setManual: async (ref, by) => {
            await store.setManual(ref, by, 'ADMIN_ROLLBACK');
          },
        }),
        ...handlers,
      },
    });
    this.converger = new Converger({
      etcd: this.etcd, keys: this.keys, host: config.host, leases: () => this.leases,
      admin: {
        registry: admin.registry,
        swap: (instance, version, values) => admin.swapInstance(instance, version, values),
        runAsOf: (ref) => admin.config.connectors.find((c) => c.type === ref.type && c.product === ref.product)?.runAs,
      },
      claims: this.identifiers, managed: (ref) => this.managed(ref),
      isLive: (host) => host === config.host || this.directory.live(host) !== undefined,
      env, handOffMs: admin.config.timeouts.startMs + 10_000, logger: logger.child({ component: 'fleet-converge' }), now: this.now,
    });
    await this.converger.start();
    this.coordinator = new Coordinator({
      etcd: this.etcd, keys: this.keys, host: config.host, leases: () => this.leases,
      leaseTtlMs: config.leaseTtlMs, reassignAfterMs: config.reassignAfterMs,
      resolveVersion: repositoryVersions(admin.context.repository),
      rollouts: new RolloutRunner({
        keys: this.keys, host: config.host,
        listVersions: (type, product) => withDeadline(admin.context.repository.listVersions(type, product), 10_000),
        // UPDATE_FAILED's `host` is where the rollout failed; the others' is this (the coordinator's) host
        publish: (event, payload) => admin.link.publish(event, { host: config.host, ...payload }),
        startTimeoutMs: admin.config.timeouts.startMs, logger: logger.child({ component: 'fleet-rollout' }),
        poke: () => this.coordinator?.poke(),
      }),
      policies: new PolicyTicker({ etcd: this.etcd, keys: this.keys, scheduler: admin.scheduler, graceMs: 2 * config.leaseTtlMs, logger: logger.child({ component: 'fleet-policies' }) }),
      logger: logger.child({ component: 'fleet-coordinator' }), now: this.now,
    });
    this.coordinator.start();
  }

  /**
   * A local instance the router must not dispatch to now (checked at every dispatch): a fleet-managed one while this
   * host is FENCED, back from a loss before it read its assignments again, or no longer assigned here after a return.
   */
  private withheld(identifier: string): boolean {
    const converger = this.converger;
    if (!converger?.isManagedHere(identifier)) return false;
    const leases = this.leases;
    const { leaseTtlMs, reassignAfterMs } = this.options.config;
    if (this.returning || !leases || leases.sinceRenewal() >= reassignAfterMs - leaseTtlMs) return true;
    return converger.withheld(identifier);
  }

  /** Why commands of other hosts must not run here now, or undefined. */
  private refusal(): string | undefined {
    if (this.state === 'LEAVING' || this.state === 'LEFT') return `host ${this.name} is leaving the fleet`;
    const leases = this.leases;
    if (!leases || leases.health === 'LAPSED') return `host ${this.name} has no lease (re-registering)`;
    if (leases.sinceRenewal() >= this.options.config.leaseTtlMs) return `host ${this.name} has not renewed its lease for ${leases.sinceRenewal()} ms`;
    return undefined;
  }

  /** A previous run of this very host (its incarnation recorded in our state dir) hands over; anyone else: refused. */
  private async takeOverPrevious(): Promise<void> {
    const { config, stateDir } = this.options;
    const response = await withDeadline(this.etcd.get(`${config.prefix}/hosts/${config.host}`).string(), 2000);
    if (response === null) return;
    const live = parseHostRecord(response);
    let previous: string | undefined;
    try {
      previous = (JSON.parse(await readFile(join(stateDir, PREVIOUS_FILE), 'utf8')) as { incarnation?: string }).incarnation;
    } catch {
      previous = undefined;
    }
    if (!live || live.incarnation !== previous) {
      throw new WorkerAdminError('FLEET_ENGINE', `etcd: host ${config.host} is already live in the fleet (incarnation ${live?.incarnation ?? '?'}, started from another state dir): give this host another fleet.host, or stop the other one`);
    }
    this.options.logger.warn({ incarnation: previous }, 'the previous run of this host still holds its lease: revoking it');
    await withDeadline(this.etcd.leaseClient.leaseRevoke({ ID: BigInt(`0x${previous}`).toString() }), 2000).catch(() => undefined);
  }

  private async grantLeases(): Promise<void> {
    const { config, stateDir, logger } = this.options;
    this.leases = await HostLeases.grant(this.etcd, { leaseTtlMs: config.leaseTtlMs, claimsTtlMs: config.reassignAfterMs }, logger.child({ component: 'fleet-lease' }), this.now);
    await writeFileAtomic(join(stateDir, PREVIOUS_FILE), JSON.stringify({ incarnation: this.leases.incarnation }));
    this.leases.keepAlive((health) => this.onLeaseHealth(health));
  }

  private onLeaseHealth(health: LeaseHealth): void {
    if (this.state === 'LEAVING' || this.state === 'LEFT') return;
    if (health === 'LIVE') this.setState('LIVE');
    else if (health === 'CUT_OFF') this.setState(this.leases && this.leases.sinceRenewal() >= this.options.config.reassignAfterMs - this.options.config.leaseTtlMs ? 'FENCED' : 'CUT_OFF');
    else void this.reRegister();
  }

  /** The lease lapsed (etcd said so): a new incarnation, once etcd answers again. */
  private async reRegister(): Promise<void> {
    const { logger } = this.options;
    this.setState('CUT_OFF');
    this.returning = true;
    this.leases?.stop();
    for (let attempt = 0; this.state !== 'LEAVING' && this.state !== 'LEFT'; attempt += 1) {
      try {
        await this.grantLeases();
        // in this order: read the assignments, stop what is no longer ours, claim the rest again, then serve
        await this.desired.relist();
        await this.converger?.resync();
        this.returning = false;
        await this.identifiers.reclaimAll();
        await this.policies.reRegister();
        await this.coordinator?.reRegistered();
        await this.writeRecord();
        this.setState('LIVE');
        logger.info({ incarnation: this.incarnation }, 'fleet host re-registered with a new incarnation');
        return;
      } catch (error) {
        logger.warn({ err: errorMessage(error), attempt }, 'fleet re-registration failed: trying again');
        await new Promise((r) => setTimeout(r, Math.min(2000, 250 * 2 ** attempt)));
      }
    }
  }

  private setState(state: HostState): void {
    if (this.state === state) return;
    this.options.logger.info({ from: this.state, to: state }, 'fleet host state');
    this.state = state;
  }

  /** This host's record, as other hosts see it. */
  record(): HostRecord {
    const { config } = this.options;
    const port = this.port;
    const view = port ? localView(port.workers(), port.expected()) : { instances: [], serves: [], declares: [] };
    return {
      name: config.host,
      incarnation: this.incarnation,
      inbox: this.inboxToken,
      protocol: PROTOCOL,
      batching: true,
      labels: config.labels,
      capacity: config.capacity ?? null,
      addresses: this.options.addresses,
      version: VERSION,
      startedAt: this.startedAt,
      state: this.state === 'LEAVING' || this.state === 'LEFT' ? 'leaving' : 'live',
      ...view,
      // other hosts send nothing to an instance withheld here
      serves: view.serves.filter((served) => !this.withheld(served.identifier)),
    };
  }

  /** Writes the record under the host lease; changes in quick succession make one write (at most one per 100 ms). */
  private scheduleWrite(): void {
    if (this.writeTimer !== undefined) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      void this.writeRecord().catch((error: unknown) => this.options.logger.warn({ err: errorMessage(error) }, 'fleet host record not written (etcd unreachable): written again on the next change or renewal'));
    }, 100);
    this.writeTimer.unref();
  }

  private writeRecord(): Promise<void> {
    const { config } = this.options;
    const leases = this.leases;
    if (!leases) return Promise.resolve();
    this.writing = this.writing.catch(() => undefined).then(async () => {
      await withDeadline(this.etcd.put(`${config.prefix}/hosts/${config.host}`).value(JSON.stringify(this.record())).lease(leases.hostId).exec(), 2000);
    });
    return this.writing;
  }

  /** Commands of other hosts served or bounced here. */
  inboundCounts(): { served: number; bounced: number } {
    return { served: this.inbound?.served ?? 0, bounced: this.inbound?.bounced ?? 0 };
  }

  /** What this host knows of the fleet now. */
  async status(): Promise<FleetStatus> {
    const { config } = this.options;
    let etcd: 'reachable' | 'unreachable' = 'reachable';
    const seen = new Map<string, HostRecord>();
    try {
      const all = await withDeadline(this.etcd.getAll().prefix(`${config.prefix}/seen/`).strings(), 2000);
      for (const text of Object.values(all)) {
        const record = parseHostRecord(text);
        if (record) seen.set(record.name, record);
      }
    } catch {
      etcd = 'unreachable';
    }
    if (this.leases && this.leases.sinceRenewal() > config.leaseTtlMs / 3 + 2000) etcd = 'unreachable';
    const hosts: FleetStatus['hosts'] = [];
    const self = this.record();
    // a fleet-managed instance this router does not dispatch to now (fenced, or back from a loss) says so
    const instances = self.instances.map((i) => (i.state === 'READY' && this.withheld(i.identifier) ? { ...i, state: 'WITHHELD' } : i));
    hosts.push({ name: self.name, status: self.state === 'leaving' ? 'leaving' : 'live', incarnation: self.incarnation, labels: self.labels, addresses: self.addresses, version: self.version, instances, capacity: self.capacity });
    for (const known of this.directory.all()) {
      const r = known.record;
      hosts.push({ name: r.name, status: known.silent ? 'silent' : r.state === 'leaving' ? 'leaving' : 'live', incarnation: r.incarnation, labels: r.labels, addresses: r.addresses, version: r.version, instances: r.instances, capacity: r.capacity });
    }
    for (const [name, r] of seen) {
      if (hosts.some((h) => h.name === name)) continue;
      hosts.push({ name, status: 'lost', incarnation: r.incarnation, labels: r.labels, addresses: r.addresses, version: r.version, instances: [] });
    }
    hosts.sort((a, b) => a.name.localeCompare(b.name));
    const coordination = await coordinatorStatus(this.etcd, this.keys).catch(() => undefined);
    return {
      host: config.host,
      state: this.state,
      incarnation: this.incarnation,
      engines: { nats: this.transport.linkUp ? 'connected' : 'disconnected', etcd },
      hosts,
      counters: {
        ...prefixed('outbound', this.outbound.counters),
        ...prefixed('claims', this.claims.counters),
        inboundServed: this.inbound?.served ?? 0,
        inboundBounced: this.inbound?.bounced ?? 0,
        refusedMessages: this.transport.refused,
        fencedWritesRefused: this.coordinator?.election.fencedRefusals ?? 0,
      },
      coordinator: coordination?.coordinator ? { host: coordination.coordinator.host, since: coordination.coordinator.since } : null,
      ...(await this.desiredStatus(hosts, coordination?.missing ?? [])),
    };
  }

  /** Cordons on every host, desired vs running per fleet-managed product, and each product's current or last rollout. */
  private async desiredStatus(hosts: FleetStatus['hosts'], missing: Array<{ product: string; wanted: number; placed: number; reason: string }>): Promise<Pick<FleetStatus, 'desired' | 'rollouts'>> {
    // every parsable record under a prefix, by the rest of its key; etcd unreachable: none (status says so elsewhere)
    const read = async (prefix: string): Promise<Array<[string, unknown]>> => {
      const all = await withDeadline(this.etcd.getAll().prefix(prefix).strings(), 2000).catch(() => ({} as Record<string, string>));
      return Object.entries(all).flatMap(([key, text]): Array<[string, unknown]> => {
        try {
          return [[key.slice(prefix.length), JSON.parse(text) as unknown]];
        } catch {
          return [];
        }
      });
    };
    const [rollouts, cordons] = await Promise.all([read(this.keys.rolloutsPrefix), read(this.keys.cordonsPrefix)]);
    const cordonOf = new Map<string, 'cordon' | 'drain'>();
    for (const [host, record] of cordons) {
      const mode = (record as { mode?: unknown } | null)?.mode;
      if (mode === 'cordon' || mode === 'drain') cordonOf.set(host, mode);
    }
    for (const h of hosts) h.cordon = cordonOf.get(h.name) ?? null;
    const desired: NonNullable<FleetStatus['desired']> = [];
    for (const text of this.desired.values.values()) {
      let entry: { type?: string; product?: string; instances?: number };
      try {
        entry = JSON.parse(text) as typeof entry;
      } catch {
        continue;
      }
      const product = `${entry.type ?? '?'}/${entry.product ?? '?'}`;
      const versions: Record<string, number> = {};
      let running = 0;
      for (const h of hosts) {
        for (const i of h.instances) {
          if (i.product !== product || i.state !== 'READY') continue;
          running += 1;
          versions[i.version] = (versions[i.version] ?? 0) + 1;
        }
      }
      const gap = missing.find((m) => m.product === product);
      desired.push({ product, instances: entry.instances ?? 0, running, versions, missing: gap ? `${gap.wanted - gap.placed} of ${gap.wanted} not placed: ${gap.reason}` : null });
    }
    desired.sort((a, b) => a.product.localeCompare(b.product));
    return { desired, rollouts: rollouts.map(([, record]) => record as RolloutRecord) };
  }

  /**
   * SIGTERM, first half: say `leaving`, stop taking other hosts' commands, finish those taken. The caller then drains
   * the workers and calls close(), which waits for this host's own cross-host commands and revokes the leases.
   */
  leave(): Promise<void> {
    return (this.leaving ??= (async () => {
      this.setState('LEAVING');
      await this.writeRecord().catch(() => undefined);
      // a leaving coordinator resigns first: its successor places this host's instances elsewhere
      await this.coordinator?.close();
      this.adminClosing?.abort();
      // the coordinator places this host's instances elsewhere at once; each is drained here once its copy is READY
      await this.converger?.handOff();
      await this.transport.stopCommands();
      await this.inbound?.drained();
    })());
  }

  /** Leaves (if not done yet), waits for commands sent elsewhere (bounded), revokes the leases, closes both engines. */
  async close(): Promise<void> {
    await this.leave();
    const until = this.now() + 10_000;
    while (this.outbound.inFlight > 0 && this.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.writeTimer) clearTimeout(this.writeTimer);
    await this.coordinator?.close();
    await this.policies.close();
    await this.converger?.close();
    await this.desired.close();
    await this.directory.close();
    await this.identifiers.releaseAll().catch(() => undefined);
    await this.leases?.revoke();
    this.setState('LEFT');
    await this.transport.close().catch(() => undefined);
    this.etcd.close();
  }
}

function prefixed(prefix: string, counters: object): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).map(([k, v]) => [`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`, v as number]));
}
