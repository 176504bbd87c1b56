// Prometheus metrics of the stack on a dedicated prom-client Registry (never the global one: several stacks share a test process).
import { stat } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkerStatus } from '../../admin/instance.js';
import type { InstanceState } from '../../admin/instance-state.js';
import type { RouterObserver } from '../../router/options.js';
import { productKey } from '../../common/names.js';

const STATES: readonly InstanceState[] = ['STARTING', 'READY', 'DRAINING', 'STOPPED', 'RESTARTING', 'FAILED', 'INVALID'];
/** Admin events that end an update, and the outcome label each one counts as. */
const UPDATE_OUTCOMES: Record<string, string> = { UPDATE_SUCCEEDED: 'succeeded', UPDATE_FAILED: 'failed', UPDATE_SKIPPED: 'skipped' };

/** Every metric; fed by the router observer, the package cache, admin events and policy runs, and read at scrape time. */
export class OpsMetrics {
  readonly registry = new Registry();
  /** Hooks for the router's options (commands completed, queue size). */
  readonly routerObserver: RouterObserver;
  private workers: () => WorkerStatus[] = () => [];
  private readonly updates: Counter<'outcome'>;
  private readonly downloads: Counter<'product'>;
  private readonly downloadBytes: Counter<'product'>;
  private readonly policyRuns: Counter<'policy' | 'status'>;
  private readonly outputDroppedLines: Counter<'identifier' | 'product'>;
  private readonly commandListeners: Array<(status: string, latencyMs: number) => void> = [];

  constructor() {
    const registers = [this.registry];
    const commands = new Counter({ name: 'worker_admin_commands_total', help: 'Commands answered by the router, by command and reply status', labelNames: ['command', 'status'] as const, registers });
    const latency = new Histogram({
      name: 'worker_admin_command_duration_seconds', help: 'Time from a command reaching the router to its reply (dispatch latency)',
      labelNames: ['command'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    });
    const queue = new Gauge({ name: 'worker_admin_queue_size', help: 'Commands waiting in the router queue for a worker (GoWork QueueSize)', registers });
    this.routerObserver = {
      commandCompleted: (command, status, latencyMs) => {
        commands.inc({ command, status });
        latency.observe({ command }, latencyMs / 1000);
        for (const listen of this.commandListeners) listen(status, latencyMs);
      },
      queueSize: (size) => queue.set(size),
    };
    const source = (): WorkerStatus[] => this.workers();
    new Gauge({
      name: 'worker_admin_instances', help: 'Instances by state', labelNames: ['state'] as const, registers,
      collect() {
        const rows = source();
        for (const state of STATES) this.set({ state }, rows.filter((w) => w.state === state).length);
      },
    });
    new Gauge({
      name: 'worker_admin_instance_restarts', help: 'Restarts after crashes, per instance', labelNames: ['identifier', 'product'] as const, registers,
      collect() {
        this.reset();
        for (const w of source()) this.set({ identifier: w.identifier, product: w.product }, w.restarts);
      },
    });
    this.updates = new Counter({ name: 'worker_admin_updates_total', help: 'Rolling updates by outcome', labelNames: ['outcome'] as const, registers });
    for (const outcome of Object.values(UPDATE_OUTCOMES)) this.updates.inc({ outcome }, 0);
    this.downloads = new Counter({ name: 'worker_admin_package_downloads_total', help: 'Worker packages downloaded from the repository', labelNames: ['product'] as const, registers });
    this.downloadBytes = new Counter({ name: 'worker_admin_package_download_bytes_total', help: 'Bytes of worker packages downloaded', labelNames: ['product'] as const, registers });
    this.policyRuns = new Counter({ name: 'worker_admin_policy_runs_total', help: 'Policy commands sent, by policy and reply status', labelNames: ['policy', 'status'] as const, registers });
    this.outputDroppedLines = new Counter({ name: 'worker_admin_output_lines_dropped_total', help: 'Worker output lines dropped by the per-worker rate limit', labelNames: ['identifier', 'product'] as const, registers });
  }

  /** Also tells `listen` about each command the router answered (the series of the status page). */
  onCommand(listen: (status: string, latencyMs: number) => void): void {
    this.commandListeners.push(listen);
  }

  /** Counts worker output lines the rate limit dropped. */
  outputDropped(ref: { identifier: string; product: string }, dropped: number): void {
    this.outputDroppedLines.inc(ref, dropped);
  }

  /** Where instance rows come from at scrape time (the admin's registry). */
  watchInstances(source: () => WorkerStatus[]): void {
    this.workers = source;
  }

  /** Counts an admin event that ends an update (other events are ignored). */
  adminEvent(event: string): void {
    const outcome = UPDATE_OUTCOMES[event];
    if (outcome) this.updates.inc({ outcome });
  }

  /** For the admin's `onPackage`: counts the packages the cache had to download, and their zip bytes. */
  packageProvided(pkg: { source: string; zipPath: string }, request: { type: string; product: string }): void {
    if (pkg.source !== 'downloaded') return;
    const product = productKey(request);
    this.downloads.inc({ product });
    stat(pkg.zipPath).then((s) => this.downloadBytes.inc({ product }, s.size), () => undefined);
  }

  /** Counts one policy run. */
  policyRun(policy: string, status: string): void {
    this.policyRuns.inc({ policy, status });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
