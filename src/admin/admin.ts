// The admin: a privileged worker on the router that owns every worker process (docs/architecture.md, docs/workers.md).
import { mkdir } from 'node:fs/promises';
import { errorMessage } from '../common/errors.js';
import { createLogger, type Logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import type { AdminConfig } from '../config/types.js';
import { createPackageCache, type CachedPackage, type PackageCache } from '../packages/cache.js';
import { RestartPolicy, type BackoffOptions } from '../process/backoff.js';
import { createRepositoryClient } from '../repository/client.js';
import { handleAdminCommand, lifecycleHandlers } from './commands/index.js';
import { updateHandlers } from './commands/update.js';
import type { AdminContext, Handler } from './commands/context.js';
import { pickVersion, specRange } from './commands/versions.js';
import { InstanceRegistry } from './instances.js';
import type { InstanceDeps } from './instance.js';
import { launchWorker, type LauncherDeps } from './launcher.js';
import { adminPivot } from './pivot.js';
import { systemClock, type Clock, type SpawnedWorker, type WorkerSpawner } from './ports.js';
import { RouterLink } from './router-link.js';
import { createProcessSpawner, terminateWorker } from './spawner.js';
import { loadTlsFiles } from '../sdk/tls-files.js';
import { lookupUser } from '../process/user.js';
import { prepareRunAs } from '../process/run-as.js';
import { watchInstancesMemory } from '../process/memory-watch.js';
import { parseAddress } from '../common/address.js';
import { AdminPersistence } from './persistence.js';
import { WorkerOutputHub } from '../process/output-hub.js';
import type { DesiredInstance } from '../process/state-schema.js';
import { defaultIdentifier } from '../common/names.js';
import { nodeScheduler, type Scheduler } from './update/scheduler.js';
import { UpdateService } from './update/service.js';

export interface AdminOptions {
  config: AdminConfig;
  adminToken: string;
  /** Router target; default config.router.target. */
  routerAddress?: string;
  /** Repository URL; default config.repository.url (`up` passes its local one). */
  repositoryUrl?: string;
  logger?: Logger;
  clock?: Clock;
  backoff?: Partial<BackoffOptions>;
  spawner?: WorkerSpawner;
  /** Told about each package the cache provides (the ops metrics count downloads and bytes). */
  onPackage?: (pkg: CachedPackage, request: { type: string; product: string; version: string }) => void;
  /** When auto and planned update checks run; default node-schedule. */
  scheduler?: Scheduler;
  /** How often workers' RSS is checked against maxMemory (default 5 s). */
  memorySampleMs?: number;
}

export interface RunningAdmin {
  readonly registry: InstanceRegistry;
  readonly link: RouterLink;
  readonly context: AdminContext;
  readonly persistence: AdminPersistence;
  readonly updates: UpdateService;
  /** Workers' output: rate-limited, logged, tailed and followed (`worker-admin logs`). */
  readonly output: WorkerOutputHub;
  /** Starts the connectors of the config; resolves when each is READY or has failed (failures are logged). */
  startConfiguredConnectors(): Promise<void>;
  /** Drains and stops every worker, then leaves the router. Idempotent. */
  close(): Promise<void>;
}

/** Connects the admin to its router and makes it ready to take ADMIN_* commands. */
export async function startAdmin(options: AdminOptions): Promise<RunningAdmin> {
  const { config } = options;
  const logger = options.logger ?? createLogger('admin');
  const clock = options.clock ?? systemClock;
  const routerTarget = options.routerAddress ?? config.router.target;
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });

  const repository = createRepositoryClient({
    url: options.repositoryUrl ?? config.repository.url, timeoutMs: config.repository.timeoutMs, retries: config.repository.retries,
    limits: { yamlBytes: config.limits.yamlBytes, yamlAliases: config.limits.yamlAliases, zipBytes: config.limits.zipBytes },
  });
  const cache = createPackageCache({
    stateDir: config.stateDir, repository,
    limits: { zipBytes: config.limits.zipBytes, unpackedBytes: config.limits.unpackedBytes, entries: config.limits.entries, ratio: config.limits.ratio },
  });
  const packages: PackageCache = {
    ensure: async (request) => {
      const pkg = await cache.ensure(request);
      options.onPackage?.(pkg, request);
      return pkg;
    },
  };
  const { persistence, desired } = await AdminPersistence.open(config.stateDir, { logger, killTimeoutMs: config.timeouts.killMs });
  const tls = config.router.tls ? await loadTlsFiles(config.router.tls, `${config.file}: router.tls`) : undefined;
  const output = new WorkerOutputHub({
    logger, stateDir: config.stateDir, mode: config.mode, rate: config.limits.outputRate, burst: config.limits.outputBurst,
  });
  const spawner = options.spawner ?? createProcessSpawner({
    logger, resolveUser: lookupUser, lineBytes: config.limits.lineBytes,
    openSink: (request) => output.openRun({ ...request, product: registry.get(request.identifier)?.productRef ?? '' }),
  });
  const handlers: Record<string, Handler> = lifecycleHandlers();
  let context!: AdminContext;
  const link = new RouterLink({
    address: routerTarget, adminToken: options.adminToken, logger, ...(tls ? { tls } : {}),
    identity: { identifier: 'admin', version: VERSION.split('.').slice(0, 2).join('.') },
    commands: adminPivot().commands,
    handle: (command) => handleAdminCommand(command, handlers, context),
  });

  const drainAndStop = async (worker: SpawnedWorker, ref: { identifier: string; version: string }): Promise<void> => {
    await link.rpc.drainWorker(ref).catch((error: unknown) => logger.warn({ ...ref, err: errorMessage(error) }, 'drain request failed: stopping anyway'));
    // One AbortController per wait: once the worker exits, the drain-timeout timer goes too (or it would hold the process open).
    const abort = new AbortController();
    const drained = await Promise.race([
      worker.exited.then(() => true),
      clock.sleep(config.timeouts.drainMs, abort.signal).then(() => false, () => true),
    ]).finally(() => abort.abort());
    if (!drained) logger.warn({ ...ref, drainMs: config.timeouts.drainMs }, 'drain timeout: terminating the worker');
    await spawner.stop(worker, config.timeouts.killMs);
  };
  const launcherDeps: LauncherDeps = {
    link, repository, packages, spawner, logger, routerTarget, tls,
    startTimeoutMs: config.timeouts.startMs, killTimeoutMs: config.timeouts.killMs,
  };
  const instanceDeps: InstanceDeps = {
    launch: (spec) => launchWorker(spec, launcherDeps),
    drainAndStop,
    publish: (event, payload) => link.publish(event, payload),
    clock, logger,
    crashPolicy: () => new RestartPolicy('always', options.backoff ?? {}),
    changed: () => persistence.changed(),
  };
  const registry = new InstanceRegistry(instanceDeps, config.limits.instances);
  persistence.attach(registry);
  context = { config, registry, repository, packages, link, logger };
  const updates = new UpdateService({
    config, registry, repository, persistence, logger, launch: instanceDeps.launch, drainAndStop,
    publish: instanceDeps.publish, scheduler: options.scheduler ?? nodeScheduler(),
  });
  Object.assign(handlers, updateHandlers(updates));
  await link.start();
  await prepareRunAs({ connectors: config.connectors, stateDir: config.stateDir, router: parseAddress(routerTarget), logger });
  const memory = watchInstancesMemory({
    instances: () => registry.all(), logger, ...(options.memorySampleMs ? { intervalMs: options.memorySampleMs } : {}),
    limitOf: (type, product) => config.connectors.find((c) => c.type === type && c.product === product)?.maxMemoryBytes,
    terminate: (i, reason) => (i.worker ? terminateWorker(spawner, i.worker as SpawnedWorker, reason, config.timeouts.killMs) : Promise.resolve()),
  });
  updates.start();

  // Instances the previous run wanted: restored first, so a rollback or a pinned version survives a restart.
  const restoreDesired = async (list: DesiredInstance[]): Promise<void> => {
    await Promise.all(list.map(async (d) => {
      const connector = config.connectors.find((c) => c.type === d.type && c.product === d.product);
      try {
        await registry.start({ ...d, config: connector?.config ?? {}, runAs: connector?.runAs, restart: connector?.restart ?? 'always' });
      } catch (error) {
        logger.error({ identifier: d.identifier, err: errorMessage(error) }, 'desired instance did not come back');
      }
    }));
  };

  let closing: Promise<void> | undefined;
  return {
    registry, link, context, persistence, updates, output,
    async startConfiguredConnectors() {
      await restoreDesired(desired);
      const starts = config.connectors.flatMap((connector) => connector.versions.map(async (spec) => {
        const ref = { type: connector.type, product: connector.product };
        try {
          const { version } = await pickVersion(context, ref, specRange(spec));
          if (registry.get(defaultIdentifier(ref.type, ref.product, version))?.live) return;
          await registry.start({
            identifier: defaultIdentifier(ref.type, ref.product, version), ...ref, version, params: {},
            config: connector.config, runAs: connector.runAs, restart: connector.restart,
          });
        } catch (error) {
          logger.error({ product: connector.ref, err: errorMessage(error) }, 'connector did not start');
        }
      }));
      await Promise.all(starts);
    },
    close() {
      return (closing ??= (async () => {
        memory.stop();
        await updates.close().catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'stopping updates failed'));
        persistence.freezeDesired();
        await registry.stop({}).catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'stopping workers failed'));
        await link.close();
        await persistence.close().catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'last state write failed'));
      })());
    },
  };
}
