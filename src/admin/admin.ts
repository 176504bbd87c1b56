// The admin: a privileged worker on the router that owns every worker process (docs/architecture.md, docs/workers.md).
import { mkdir } from 'node:fs/promises';
import { parseAddress } from '../common/address.js';
import { systemClock, type Clock } from '../common/clock.js';
import { errorMessage } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { defaultIdentifier } from '../common/names.js';
import { createScheduler, type Scheduler } from '../common/scheduler.js';
import { VERSION } from '../common/version.js';
import type { AdminConfig } from '../config/types.js';
import { createPackageCache, type CachedPackage, type PackageCache } from '../packages/cache.js';
import { RestartPolicy, type BackoffOptions } from '../process/backoff.js';
import { WorkerOutputHub } from '../process/output-hub.js';
import { watchInstancesMemory } from '../process/memory-watch.js';
import { prepareRunAs } from '../process/run-as.js';
import type { DesiredInstance } from '../process/state-schema.js';
import { lookupUser } from '../process/user.js';
import { createRepositoryClient, type RepositoryClient } from '../repository/client.js';
import { loadTrustedKeys } from '../repository/signature.js';
import { loadTlsFiles } from '../sdk/tls-files.js';
import type { TlsOptions } from '../sdk/types.js';
import { handleAdminCommand, lifecycleHandlers } from './commands/index.js';
import { updateHandlers } from './commands/update.js';
import type { AdminContext, Handler } from './commands/context.js';
import { pickVersion, specRange } from './commands/versions.js';
import type { Instance, InstanceDeps, InstanceSpec } from './instance.js';
import { InstanceRegistry } from './instances.js';
import { launchWorker, VerdictListeners } from './launcher.js';
import { AdminPersistence } from './persistence.js';
import { adminPivot } from './pivot.js';
import type { AdminFleet } from './fleet-port.js';
import type { SpawnedWorker, WorkerSpawner } from './ports.js';
import { RouterLink } from './router-link.js';
import { createProcessSpawner, terminateWorker } from './spawner.js';
import { drainAndStop } from './update/drain.js';
import { replaceInstance, type Replaced } from './update/rolling.js';
import { warmUp } from './update/warm-up.js';
import { UpdateService } from './update/service.js';
import { VersionCatalog } from './version-catalog.js';
import { VersionConfigurations } from './version-configuration.js';

export interface AdminOptions {
  config: AdminConfig;
  adminToken: string;
  /** Router target; default config.router.target. */
  routerAddress?: string;
  /** Repository URL; default config.repository.url (`up` passes its local one). */
  repositoryUrl?: string;
  logger?: Logger;
  /** Uptimes, restart delays, drain timeouts and the default scheduler; default the system clock. */
  clock?: Clock;
  backoff?: Partial<BackoffOptions>;
  spawner?: WorkerSpawner;
  /** Told about each package the cache provides (the ops metrics count downloads and bytes). */
  onPackage?: (pkg: CachedPackage, request: { type: string; product: string; version: string }) => void;
  /** When auto and planned update checks run; default one on `clock`. */
  scheduler?: Scheduler;
  /** How often workers' RSS is checked against maxMemory (default 5 s). */
  memorySampleMs?: number;
}

/** NEW → STARTING → RUNNING → CLOSING → CLOSED; a failed start unwinds and ends CLOSED. */
type AdminState = 'NEW' | 'STARTING' | 'RUNNING' | 'CLOSING' | 'CLOSED';

/** Connects an admin to its router and makes it ready to take ADMIN_* commands; a failed start leaves nothing running. */
export async function startAdmin(options: AdminOptions): Promise<Admin> {
  const { config } = options;
  const logger = options.logger ?? createLogger('admin');
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const tls = config.router.tls ? await loadTlsFiles(config.router.tls, `${config.file}: router.tls`) : undefined;
  // Reaps what a previous run left behind: from here on, every step has its undo.
  const { persistence, desired } = await AdminPersistence.open(config.stateDir, { logger, killTimeoutMs: config.timeouts.killMs });
  const admin = new Admin(options, { logger, tls, persistence, desired });
  await admin.start();
  return admin;
}

/** One admin and everything it owns: router link, instances, state file, update modes, memory watch, caches. */
export class Admin {
  readonly config: AdminConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly persistence: AdminPersistence;
  readonly link: RouterLink;
  readonly registry: InstanceRegistry;
  readonly context: AdminContext;
  readonly updates: UpdateService;
  /** Workers' output: rate-limited, logged, tailed and followed (`worker-admin logs`). */
  readonly output: WorkerOutputHub;
  private readonly spawner: WorkerSpawner;
  private readonly instanceDeps: InstanceDeps;
  /** Both versions of a rolling update serve side by side until the new one is warm (./update/warm-up.ts). */
  private readonly warmUp: (identifier: string, from: string, to: string) => Promise<void>;
  private readonly routerTarget: string;
  private readonly desired: DesiredInstance[];
  private state: AdminState = 'NEW';
  /** What the start did so far, undone in reverse by close() or by a failed start. */
  private readonly undo: Array<{ what: string; run: () => Promise<void> | void }> = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: AdminOptions,
    parts: { logger: Logger; tls: TlsOptions | undefined; persistence: AdminPersistence; desired: DesiredInstance[] },
  ) {
    const { config } = options;
    const { logger, tls, persistence } = parts;
    this.config = config;
    this.logger = logger;
    this.persistence = persistence;
    this.desired = parts.desired;
    this.undo.push({ what: 'last state write', run: () => persistence.close() });
    this.clock = options.clock ?? systemClock;
    this.scheduler = options.scheduler ?? createScheduler(this.clock, (error) => logger.error({ err: errorMessage(error) }, 'scheduled check failed'));
    this.routerTarget = options.routerAddress ?? config.router.target;
    const repository = createRepositoryClient({
      url: options.repositoryUrl ?? config.repository.url, timeoutMs: config.repository.timeoutMs, retries: config.repository.retries,
      limits: { yamlBytes: config.limits.yamlBytes, yamlAliases: config.limits.yamlAliases, zipBytes: config.limits.zipBytes },
    });
    const packages = this.packageCache(repository);
    const catalog = new VersionCatalog(repository, loadTrustedKeys(config.repository.trustedKeys), logger);
    this.output = new WorkerOutputHub({
      logger, stateDir: config.stateDir, mode: config.mode, rate: config.limits.outputRate, burst: config.limits.outputBurst,
    });
    this.spawner = options.spawner ?? createProcessSpawner({
      logger, resolveUser: lookupUser, lineBytes: config.limits.lineBytes,
      openSink: (request) => this.output.openRun({ ...request, product: this.registry.get(request.identifier)?.productRef ?? '' }),
    });
    const handlers: Record<string, Handler> = lifecycleHandlers();
    this.link = new RouterLink({
      address: this.routerTarget, adminToken: options.adminToken, logger, ...(tls ? { tls } : {}),
      identity: { identifier: 'admin', version: VERSION.split('.').slice(0, 2).join('.') },
      commands: adminPivot().commands,
      products: config.connectors.map((c) => c.ref),
      handle: (command) => handleAdminCommand(command, handlers, this.context),
    });
    this.undo.push({ what: 'router link', run: () => this.link.close() });
    const verdicts = new VerdictListeners(this.link);
    this.undo.push({ what: 'start verdicts', run: () => verdicts.close() });
    const configurations = new VersionConfigurations();
    const launcherDeps = {
      link: this.link, verdicts, configurations, repository, catalog, packages, spawner: this.spawner, logger, routerTarget: this.routerTarget, tls,
      startTimeoutMs: config.timeouts.startMs, killTimeoutMs: config.timeouts.killMs,
      pythonFor: (type: string, product: string) => config.connectors.find((c) => c.type === type && c.product === product)?.python,
    };
    const drainDeps = { rpc: this.link.rpc, spawner: this.spawner, clock: this.clock, logger, drainMs: config.timeouts.drainMs, killMs: config.timeouts.killMs };
    const instanceDeps: InstanceDeps = {
      launch: (spec) => launchWorker(spec, launcherDeps),
      drainAndStop: (worker, ref) => drainAndStop(drainDeps, worker, ref),
      publish: (event, payload) => this.link.publish(event, payload),
      clock: this.clock, logger,
      restartPolicy: (mode) => new RestartPolicy(mode, options.backoff ?? {}, this.clock),
      changed: () => persistence.changed(),
    };
    this.instanceDeps = instanceDeps;
    this.registry = new InstanceRegistry(instanceDeps, config.limits.instances);
    persistence.attach(this.registry);
    this.registry.noticeOf = (spec) => catalog.note(spec.type, spec.product, spec.version);
    this.context = { config, registry: this.registry, repository, catalog, packages, configurations, link: this.link, logger };
    const warmUpDeps = { rpc: this.link.rpc, clock: this.clock, warmupMs: config.timeouts.warmupMs };
    this.warmUp = async (identifier: string, from: string, to: string) => {
      const end = await warmUp(warmUpDeps, identifier, from, to);
      logger.debug({ identifier, from, to, end }, 'rolling update: the old and the new version served side by side until now');
    };
    this.updates = new UpdateService({
      config, registry: this.registry, repository, persistence, logger, launch: instanceDeps.launch,
      drainAndStop: instanceDeps.drainAndStop, publish: instanceDeps.publish, warmUp: this.warmUp, scheduler: this.scheduler, now: () => this.clock.now(),
    });
    Object.assign(handlers, updateHandlers(this.updates));
  }

  /** Connects to the router, then watches memory and schedules update checks; on a failure, undoes every step and throws. */
  async start(): Promise<void> {
    if (this.state !== 'NEW') throw new Error(`admin already ${this.state.toLowerCase()}`);
    this.state = 'STARTING';
    try {
      await this.link.start();
      await prepareRunAs({ connectors: this.config.connectors, stateDir: this.config.stateDir, router: parseAddress(this.routerTarget), logger: this.logger });
      // From the first worker on, a close drains and stops them before the link goes (drain needs the router).
      this.undo.push({ what: 'workers', run: () => this.registry.stop({}).then(() => undefined) });
      this.undo.push({ what: 'frozen desired instances', run: () => this.persistence.freezeDesired() });
      const memory = watchInstancesMemory({
        instances: () => this.registry.all(), logger: this.logger,
        ...(this.options.memorySampleMs ? { intervalMs: this.options.memorySampleMs } : {}),
        limitOf: (type, product) => this.config.connectors.find((c) => c.type === type && c.product === product)?.maxMemoryBytes,
        terminate: (i, reason) => (i.worker ? terminateWorker(this.spawner, i.worker as SpawnedWorker, reason, this.config.timeouts.killMs) : Promise.resolve()),
      });
      this.undo.push({ what: 'memory watch', run: () => memory.stop() });
      this.updates.start();
      this.undo.push({ what: 'updates', run: () => this.updates.close() });
      // status (ops API included) says which running versions the repository yanked or removed since they started
      const { catalog } = this.context;
      const notes = setInterval(() => void catalog.refresh(this.registry.all().filter((i) => i.live).map((i) => i.spec)), 30_000);
      notes.unref();
      this.undo.push({ what: 'version notes', run: () => clearInterval(notes) });
    } catch (error) {
      this.logger.error({ err: errorMessage(error) }, 'admin did not start: undoing what it started');
      await this.close();
      throw error;
    }
    this.state = 'RUNNING';
  }

  /** A fleet's swap of one instance (docs/fleet.md, a host converging): the drain-then-stop of a rolling update. */
  swapInstance(instance: Instance, version: string, config: InstanceSpec['config']): Promise<Replaced> {
    return replaceInstance(instance, version, {
      launch: this.instanceDeps.launch, drainAndStop: this.instanceDeps.drainAndStop, publish: this.instanceDeps.publish,
      warmUp: this.warmUp, closing: () => this.state !== 'RUNNING',
    }, config);
  }

  /** Joins this admin to its host's fleet: managed products are refused by hand, fleet commands are served. */
  useFleet(fleet: AdminFleet): void {
    this.context.fleet = fleet;
  }

  /** Starts the connectors of the config (instances a previous run wanted first); resolves when each is READY or failed (logged). */
  async startConfiguredConnectors(): Promise<void> {
    const { fleet } = this.context;
    // Restored first, so a rollback or a pinned version survives a restart; fleet-managed ones come from assignments.
    await Promise.all(this.desired.filter((d) => !fleet?.managed(d)).map(async (d) => {
      const connector = this.config.connectors.find((c) => c.type === d.type && c.product === d.product);
      try {
        await this.registry.start({ ...d, config: connector?.config ?? {}, runAs: connector?.runAs, restart: connector?.restart ?? 'always' });
      } catch (error) {
        this.logger.error({ identifier: d.identifier, err: errorMessage(error) }, 'desired instance did not come back');
      }
    }));
    const own = this.config.connectors.filter((connector) => {
      if (!fleet?.managed(connector)) return true;
      this.logger.warn({ product: connector.ref }, 'connector ignored: the fleet desired state manages this product (the coordinator places its instances)');
      return false;
    });
    await Promise.all(own.flatMap((connector) => connector.versions.map(async (spec) => {
      const ref = { type: connector.type, product: connector.product };
      try {
        const { version } = await pickVersion(this.context, ref, specRange(spec));
        const identifier = defaultIdentifier(ref.type, ref.product, version);
        if (this.registry.get(identifier)?.live) return;
        await this.registry.start({ identifier, ...ref, version, params: {}, config: connector.config, runAs: connector.runAs, restart: connector.restart });
      } catch (error) {
        this.logger.error({ product: connector.ref, err: errorMessage(error) }, 'connector did not start');
      }
    })));
  }

  /** Undoes the start in reverse: no more checks, workers drained and stopped, router left, state written. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.state = 'CLOSING';
      for (const step of this.undo.reverse()) {
        try {
          await step.run();
        } catch (error) {
          this.logger.error({ step: step.what, err: errorMessage(error) }, 'admin shutdown step failed');
        }
      }
      this.state = 'CLOSED';
    })());
  }

  private packageCache(repository: RepositoryClient): PackageCache {
    const { config, onPackage } = this.options;
    const cache = createPackageCache({
      stateDir: config.stateDir, repository,
      limits: { zipBytes: config.limits.zipBytes, unpackedBytes: config.limits.unpackedBytes, entries: config.limits.entries, ratio: config.limits.ratio },
    });
    return {
      ensure: async (request) => {
        const pkg = await cache.ensure(request);
        onPackage?.(pkg, request);
        return pkg;
      },
    };
  }
}
