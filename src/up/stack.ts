// `up`: router + admin + a local repository built from ./connectors, in one process (the embedded default).
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startAdmin, type Admin } from '../admin/admin.js';
import { writeCredentials, type Credentials } from '../common/credentials.js';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import type { FleetHost } from '../fleet/host.js';
import { createLogger, type Logger } from '../common/log.js';
import { formatAddress } from '../common/address.js';
import type { Scheduler } from '../common/scheduler.js';
import type { AdminConfig } from '../config/types.js';
import type { BackoffOptions } from '../process/backoff.js';
import { startRepositoryServer, type RepositoryServer } from '../repository/server.js';
import { refreshVersionConfiguration } from '../admin/version-configuration.js';
import { DevLoop } from './dev-loop.js';
import { packSources, type StackPack } from './sources.js';
import { startRouter, type RunningRouter } from '../router/server.js';
import { connectorsWithoutRuntime, type SkippedConnector } from './runtimes.js';
import { OpsMetrics } from '../ops/metrics/metrics.js';
import { startOps, type OpsOptions, type RunningOps } from '../ops/ops.js';
import type { PolicyFleet } from '../ops/policies/ports.js';

export interface StackOptions {
  config: AdminConfig;
  /** The connectors source tree(s) packed into {stateDir}/repository (default ./connectors). */
  connectorsDir?: string | string[];
  /** Pack nothing: serve this already packed repository tree as is (tests pack once and reuse it). */
  repositoryDir?: string;
  /** Loopback address the repository listens on (default 127.0.0.1:0). */
  repositoryListen?: string;
  adminToken?: string;
  clientToken?: string;
  /** Where WORKER_ADMIN_TOKEN and WORKER_ADMIN_CLIENT_TOKEN are read when no token is given (the CLI passes process.env; default none). */
  env?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
  backoff?: Partial<BackoffOptions>;
  /** Start the connectors of the config (default true). */
  startConnectors?: boolean;
  /** When update checks and policies run (default one on the system clock); tests give one on a manual clock. */
  scheduler?: Scheduler;
  /** Why Python connectors cannot run here (undefined: they can); default: probe for a python3 with grpcio. */
  pythonProblem?: () => Promise<string | undefined>;
  /** Tests drive policy schedules through these. */
  ops?: Pick<OpsOptions, 'clock' | 'scheduler' | 'updates' | 'seriesStepMs'>;
  /** Development mode: reload when a file under the sources changes, this long after the last change (`up --watch`). */
  watch?: { debounceMs?: number };
}

export interface RunningStack {
  /** One entry per packed source tree (none with repositoryDir). */
  packs: StackPack[];
  /** Configured connectors not started because their runtime is missing (a Python one without grpcio). */
  skipped: SkippedConnector[];
  router: RunningRouter;
  admin: Admin;
  /** The local repository server; undefined for a fleet host using a shared repository. */
  repository: RepositoryServer | undefined;
  /** This host's membership of a fleet, when the config has a fleet: section. */
  fleet: FleetHost | undefined;
  /** The development loop (re-pack on SIGHUP or a watch); undefined in production, in a fleet, or without sources. */
  devLoop: DevLoop | undefined;
  ops: RunningOps;
  credentials: Credentials;
  /** Drain every worker, then stop admin, router and repository. Idempotent. */
  close(): Promise<void>;
}

const newToken = (): string => randomBytes(32).toString('base64url');

/** Packs, serves, routes and administers; writes {stateDir}/credentials.json (0600). */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { config } = options;
  const logger = options.logger ?? createLogger('worker-admin');
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const env = options.env ?? {};
  const givenAdmin = options.adminToken ?? config.router.token ?? env['WORKER_ADMIN_TOKEN'];
  const givenClient = options.clientToken ?? env['WORKER_ADMIN_CLIENT_TOKEN'];
  if (config.fleet && (givenAdmin === undefined || givenClient === undefined)) {
    // one admin token and one client token hold in the whole fleet: a host never makes up its own
    throw new WorkerAdminError('CONFIG_INVALID', `${config.file}: a fleet host needs its tokens given, not generated: set WORKER_ADMIN_TOKEN and WORKER_ADMIN_CLIENT_TOKEN (the same on every host)`);
  }
  const adminToken = givenAdmin ?? newToken();
  const clientToken = givenClient ?? newToken();

  const repoDir = join(config.stateDir, 'repository');
  // in a fleet the repository is shared and given (repository.url); ./connectors is packed only when asked for
  const sources = options.repositoryDir ? [] : config.fleet && options.connectorsDir === undefined ? [] : [options.connectorsDir ?? 'connectors'].flat();
  const serveLocal = options.repositoryDir !== undefined || sources.length > 0;
  const packed = sources.length > 0 ? await packSources({ sources, repoDir, stateDir: config.stateDir, mode: config.mode, logger }) : undefined;
  const packs: StackPack[] = packed?.packs ?? [];
  // a connector whose runtime is missing is left out of what the admin starts; the others (echo) still run
  const skipped = await connectorsWithoutRuntime(config.connectors, sources, options.pythonProblem);
  for (const s of skipped) logger.warn({ product: s.product, reason: s.reason }, 'connector skipped');
  const adminConfig = skipped.length === 0 ? config : { ...config, connectors: config.connectors.filter((c) => !skipped.some((s) => s.product === c.ref)) };
  const repository = serveLocal ? await startRepositoryServer({ dir: options.repositoryDir ?? repoDir, listen: options.repositoryListen ?? '127.0.0.1:0' }) : undefined;
  const repositoryUrl = repository?.url ?? config.repository.url;
  const closers: Array<() => Promise<void>> = repository ? [() => repository.close()] : [];
  let fleet: FleetHost | undefined;
  const metrics = new OpsMetrics();
  try {
    const router = await startRouter({
      listen: formatAddress(config.router.address), stateDir: config.stateDir, adminToken, clientToken,
      limits: { queue: config.limits.queue, messageBytes: config.limits.messageBytes },
      timeouts: { commandMs: config.timeouts.commandMs, adminCommandMs: config.timeouts.adminCommandMs },
      logger: logger.child({ component: 'router' }), observer: metrics.routerObserver,
    });
    closers.unshift(() => router.close());
    const admin = await startAdmin({
      config: adminConfig, adminToken, routerAddress: router.address, repositoryUrl,
      logger: logger.child({ component: 'admin' }), ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.scheduler ? { scheduler: options.scheduler } : {}),
      onPackage: (pkg, request) => metrics.packageProvided(pkg, request),
    });
    closers.unshift(() => admin.close());
    // a re-published version's keys and pivot replace what the router's store kept from its previous bytes
    for (const ref of packed?.republished ?? []) await refreshVersionConfiguration(ref, { rpc: admin.link.rpc, repository: admin.context.repository, logger });
    // in a fleet the policies wait for the host to join: their names are fleet-wide, their ticks the coordinator's
    let joined: (policies: PolicyFleet) => void = () => undefined;
    const policyFleet = config.fleet ? new Promise<PolicyFleet>((resolve) => { joined = resolve; }) : undefined;
    const ops = await startOps({
      admin, config: adminConfig, adminToken, metrics, logger: logger.child({ component: 'ops' }), ...options.ops,
      fleet: () => (fleet ? fleet.status() : Promise.resolve(undefined)),
      ...(policyFleet ? { policyFleet } : {}),
    });
    closers.unshift(() => ops.close());
    if (config.fleet) {
      const { joinFleet } = await import('../fleet/host.js'); // the engines' clients load only in a fleet
      fleet = await joinFleet({
        config: config.fleet, router, adminToken, stateDir: config.stateDir,
        addresses: { router: router.address, ops: ops.address }, logger: logger.child({ component: 'fleet' }),
      });
      const host = fleet;
      admin.registry.useClaims(host.identifiers);
      await host.attachAdmin(admin, env);
      joined(host.policies);
      const { registerFleetMetrics } = await import('../fleet/metrics.js');
      registerFleetMetrics(metrics.registry, host);
      // SIGTERM: leave first (nothing new from other hosts, theirs finished), then drain; the leases go last
      closers.unshift(() => host.leave());
      closers.splice(closers.length - (repository ? 1 : 0), 0, () => host.close());
    }
    const credentials: Credentials = {
      router: router.address, ops: ops.address, repository: repositoryUrl, adminToken, clientToken,
    };
    await writeCredentials(config.stateDir, credentials);
    if (options.startConnectors !== false) await admin.startConfiguredConnectors();
    // one host's own repository only: a fleet's is shared, and production never rewrites a version
    const devLoop = config.mode === 'development' && !config.fleet && sources.length > 0
      ? new DevLoop({ sources, repoDir, stateDir: config.stateDir, admin, logger: logger.child({ component: 'dev-loop' }) })
      : undefined;
    if (devLoop) {
      closers.unshift(() => devLoop.close()); // first: no reload starts once the workers drain
      if (options.watch) devLoop.watch(options.watch.debounceMs);
    }
    let closing: Promise<void> | undefined;
    return {
      packs, skipped, router, admin, repository, ops, credentials, fleet, devLoop,
      close: () => (closing ??= runAll(closers, logger)),
    };
  } catch (error) {
    await runAll(closers, logger);
    throw error;
  }
}

// Shutdown steps run in order; each runs even when an earlier one failed.
async function runAll(steps: Array<() => Promise<void>>, logger: Logger): Promise<void> {
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      logger.error({ err: errorMessage(error) }, 'shutdown step failed');
    }
  }
}
