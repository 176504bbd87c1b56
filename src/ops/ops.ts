// The admin's ops surface (docs/ops.md): HTTP API, policies, metrics and status page, wired to a running admin.
import type { Server } from 'node:http';
import type { Admin } from '../admin/admin.js';
import { systemClock, type Clock } from '../common/clock.js';
import { isLocalAddress, type Address } from '../common/address.js';
import { errorMessage } from '../common/errors.js';
import type { Scheduler } from '../common/scheduler.js';
import { createLogger, type Logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import type { AdminConfig } from '../config/types.js';
import type { Capabilities, OpsContext } from './context.js';
import { AdminEventFeed } from './events.js';
import { createAdminAuth } from './http/auth.js';
import { closeServer, listenOn } from './http/listen.js';
import { OpsMetrics } from './metrics/metrics.js';
import type { OtelExport } from './metrics/otel-export.js';
import { adminPolicyInstances, adminPolicyStorage } from './policies/admin-ports.js';
import { PolicyManager } from './policies/manager.js';
import type { PolicyFleet } from './policies/ports.js';
import { SeriesRecorder } from './series/recorder.js';
import { createOpsServer } from './server.js';
import { parseJsonOrNull } from '../sdk/messages.js';
import { describedUpdateModes, type UpdateModeSource } from './updates.js';

export interface OpsOptions {
  admin: Admin;
  config: AdminConfig;
  /** Mutating routes require it as a bearer token. */
  adminToken: string;
  /** Default config.ops.listen. */
  listen?: Address;
  /** Shared with the router's observer when both run in one process; default a new one. */
  metrics?: OpsMetrics;
  /** Time for uptime and run times; default the system clock. */
  clock?: Clock;
  /** Runs policy schedules; default the admin's, so a policy and a planned update on one expression agree. */
  scheduler?: Scheduler;
  /** Update modes with their next check; default the admin's updater. */
  updates?: UpdateModeSource;
  /** What this host knows of its fleet (GET /api/v1/fleet); absent or undefined: not in a fleet. */
  fleet?: () => Promise<unknown>;
  /** In a fleet: resolves once the host joined; the policies are restored and taken only then (docs/fleet.md, policies). */
  policyFleet?: Promise<PolicyFleet | undefined>;
  logger?: Logger;
  /** Time between two samples of the charts (default 5 s); the window is always 15 minutes. */
  seriesStepMs?: number;
}

export interface RunningOps {
  /** The address actually bound: `127.0.0.1:PORT` or `unix:/path`. */
  readonly address: string;
  readonly metrics: OpsMetrics;
  readonly policies: PolicyManager;
  /** Resolves once the policies of the previous run were restored (or failed, logged). */
  readonly restored: Promise<void>;
  /** Stops serving, scheduling and watching; instances are left to the admin. Idempotent. */
  close(): Promise<void>;
}

/** Starts the ops server, restores the stored policies (in the background) and serves until closed. */
export async function startOps(options: OpsOptions): Promise<RunningOps> {
  const { admin, config } = options;
  const logger = options.logger ?? createLogger('ops');
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? new OpsMetrics();
  metrics.watchInstances(() => admin.registry.statuses());
  // The charts run on wall time, whatever `clock` drives the policies with.
  const series = new SeriesRecorder(() => admin.registry.statuses(), { now: Date.now(), ...(options.seriesStepMs ? { stepMs: options.seriesStepMs } : {}) });
  metrics.onCommand((status, latencyMs) => series.command(status, latencyMs));
  admin.output.onDropped((ref, dropped) => metrics.outputDropped(ref, dropped));
  const feed = new AdminEventFeed(() => admin.link.rpc.watchEvents({ topics: ['admin'] }), {
    logger, onEvent: (event) => {
      metrics.adminEvent(event.event);
      const payload = parseJsonOrNull(event.payload);
      series.event(event.event, payload !== null && typeof payload === 'object' ? payload as Record<string, unknown> : {}, Number(event.timestamp_ms) || Date.now());
    },
  });
  const scheduler = options.scheduler ?? admin.scheduler;
  const policies = new PolicyManager({
    instances: adminPolicyInstances(admin), storage: adminPolicyStorage(admin.persistence), scheduler, logger,
    runner: {
      send: (command) => admin.link.rpc.sendCommand(command), now: () => clock.now(),
      commandTimeoutMs: config.timeouts.commandMs, dryRunDir: config.dryRunDir,
    },
    onRun: (spec, run) => metrics.policyRun(spec.name, run.status),
    ...(options.policyFleet ? { fleet: options.policyFleet } : {}),
  });
  const ctx: OpsContext = {
    version: VERSION, startedAt: clock.now(), now: () => clock.now(),
    workers: () => admin.registry.statuses(), capabilities: () => capabilitiesOf(admin),
    policies, events: () => feed.events(), metrics, auth: createAdminAuth(options.adminToken),
    updates: options.updates ?? describedUpdateModes(config.connectors, (ref) => admin.updates.modes.describe(ref)),
    limits: { yamlBytes: config.limits.yamlBytes, yamlAliases: config.limits.yamlAliases },
    series: () => series.view(Date.now()), output: admin.output, stateDir: config.stateDir,
    fleet: options.fleet ?? (() => Promise.resolve(undefined)),
  };
  const otel = await startOtel(config, metrics, logger);
  const server: Server = createOpsServer(ctx, logger);
  const listen = options.listen ?? config.ops.listen;
  const address = await listenOn(server, listen);
  logger.info({ ops: address }, 'ops API listening');
  if (!isLocalAddress(listen)) logger.warn({ ops: address }, 'ops API on a non-loopback address without TLS: status is readable by anyone who reaches it, and the admin token of POST/DELETE crosses the network in clear text');
  feed.start();
  const sampling = setInterval(() => series.sample(Date.now()), series.ring.stepMs);
  sampling.unref();
  const restored = policies.restore().catch((error: unknown) => logger.error({ err: errorMessage(error) }, 'policies not restored'));
  let closing: Promise<void> | undefined;
  return {
    address, metrics, policies, restored,
    close: () => (closing ??= (async () => {
      clearInterval(sampling);
      feed.close();
      await policies.close(); // first: a restore still waiting for the fleet stops waiting
      await restored;
      try {
        await closeServer(server);
      } finally {
        await otel?.close(); // last: the flushed export carries the final counts
      }
    })()),
  };
}

/** OTLP export when `ops.otel.endpoint` is set; the SDK is imported only then (it costs the admin memory otherwise). */
async function startOtel(config: AdminConfig, metrics: OpsMetrics, logger: Logger): Promise<OtelExport | undefined> {
  const { endpoint, intervalMs } = config.ops.otel;
  if (endpoint === '') return undefined;
  const { startOtelExport } = await import('./metrics/otel-export.js');
  return startOtelExport({ registry: metrics.registry, endpoint, intervalMs, version: VERSION, logger });
}

/** `type/product@version` of each running instance, and the commands they serve (sorted, without duplicates). */
function capabilitiesOf(admin: Admin): Capabilities {
  const modules = new Set<string>();
  const commands = new Set<string>();
  for (const instance of admin.registry.all()) {
    if (!instance.live || !instance.launched) continue;
    modules.add(`${instance.productRef}@${instance.spec.version}`);
    for (const command of instance.launched.pivot.commands) commands.add(command.name);
  }
  return { loaded_modules: [...modules].sort(), commands: [...commands].sort() };
}
