// The admin's memory across runs: desired instances and worker pids in state.json; orphans of a previous run reaped.
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { reapOrphans } from '../process/orphans.js';
import { processStartTime } from '../process/proc.js';
import { StateStore } from '../process/state-file.js';
import type { DesiredInstance, ProcessRecord, StateFile } from '../process/state-schema.js';
import type { InstanceRegistry } from './instances.js';
import type { ProcessWorker } from './spawner.js';

/** Opens state.json, kills what a previous run left behind, and keeps the file in step with the registry. */
export class AdminPersistence {
  readonly runId = randomUUID();
  private registry: InstanceRegistry | undefined;
  private desiredFrozen = false;
  private closed = false;

  private constructor(readonly store: StateStore, private readonly logger: Logger) {}

  /** Loads the state (a corrupt file is set aside with a logged error) and reaps orphan process groups. */
  static async open(stateDir: string, opts: { logger: Logger; killTimeoutMs: number }): Promise<{ persistence: AdminPersistence; desired: DesiredInstance[] }> {
    const { store, load } = await StateStore.open(stateDir);
    if (load.kind === 'corrupt') opts.logger.error({ err: load.error.message }, 'state file unusable');
    if (load.kind === 'loaded' && load.warnings.length > 0) opts.logger.warn({ warnings: load.warnings }, 'state file entries dropped');
    const reaped = await reapOrphans(load.state, { killTimeoutMs: opts.killTimeoutMs });
    for (const k of reaped.killed) opts.logger.warn({ identifier: k.record.identifier, pid: k.record.pid, outcome: k.outcome }, 'stopped a worker left behind by a previous admin run');
    const persistence = new AdminPersistence(store, opts.logger);
    await store.update((s) => { s.processes = []; });
    return { persistence, desired: load.state.instances };
  }

  /** Binds the registry whose instances are written on every change. */
  attach(registry: InstanceRegistry): void {
    this.registry = registry;
  }

  /** The current state (update modes, previous versions, policies live here too). */
  snapshot(): StateFile {
    return this.store.snapshot();
  }

  /** Applies a change to other parts of the state (update modes, policies…) and writes it. */
  update(mutate: (draft: StateFile) => void): Promise<void> {
    return this.store.update(mutate);
  }

  /** Last write of the admin's run; nothing is written after it resolves (its state dir may be removed then). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.store.flush();
    this.closed = true;
  }

  /** Shutdown of the admin: workers stop, but what was desired stays desired for the next run. */
  freezeDesired(): void {
    this.store.settle(); // a change made before the freeze still carries its desired instances
    this.desiredFrozen = true;
  }

  /** Writes the registry's desired instances and live processes; errors are logged, never thrown.
   * The registry is read when the state is next written or read, once for all the changes made meanwhile. */
  changed(): void {
    if (!this.registry || this.closed) return;
    this.store.defer((s) => this.fill(s))
      .catch((error: unknown) => this.logger.error({ err: errorMessage(error) }, 'cannot write the state file'));
  }

  private fill(state: StateFile): void {
    const registry = this.registry;
    if (!registry) return;
    const processes: ProcessRecord[] = [];
    for (const instance of registry.all()) {
      const worker = instance.worker as ProcessWorker | undefined;
      if (!instance.live || !worker) continue;
      const startTime = this.startTimeOf(worker);
      if (startTime === undefined) continue;
      processes.push({ identifier: instance.identifier, version: instance.spec.version, pid: worker.pid, pgid: worker.pgid ?? worker.pid, startTime, runId: this.runId });
    }
    if (!this.desiredFrozen) state.instances = registry.desired();
    state.processes = processes;
  }

  // The process spawner records it at spawn (re-reading /proc for every live worker on every change was O(n²) per
  // burst); other spawners' workers are looked up now.
  private startTimeOf(worker: { pid: number; startTime?: number | undefined }): number | undefined {
    return 'startTime' in worker ? worker.startTime : processStartTime(worker.pid);
  }
}
