// One supervised instance: an identifier running one version, its state machine, restarts with backoff, drain-then-stop.
import type { RestartMode } from '../config/types.js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { assertTransition, LIVE_STATES, STATE_EVENTS, type InstanceState } from './instance-state.js';
import { LaunchError, type LaunchedWorker, type LaunchSpec } from './launcher.js';
import type { Clock, ExitInfo, SpawnedWorker } from './ports.js';

/** What ADMIN_LIST_WORKERS and /api/v1/status show of an instance (docs/architecture.md). */
export interface WorkerStatus {
  identifier: string;
  product: string;
  version: string;
  state: InstanceState;
  pid: number | null;
  restarts: number;
  uptimeSeconds: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  reason?: string;
  /** What the repository says of this version now: yanked (with the reason), or no longer listed. */
  notice?: string;
}

/** Decides what follows an unexpected exit: restart after a delay, or give up (FAILED). */
export interface CrashPolicy {
  onCrash(uptimeMs: number): { action: 'restart'; delayMs: number } | { action: 'give-up'; reason: string };
}

export interface InstanceDeps {
  launch(spec: LaunchSpec): Promise<LaunchedWorker>;
  /** Drain on the router (no new commands), wait for exit up to drainTimeout, then SIGTERM/SIGKILL the group. */
  drainAndStop(worker: SpawnedWorker, ref: { identifier: string; version: string }): Promise<void>;
  publish(event: string, payload: Record<string, unknown>): void;
  clock: Clock;
  logger: Logger;
  crashPolicy(): CrashPolicy;
  /** Something persisted changed (state, pid, version). */
  changed(): void;
}

export interface InstanceSpec extends LaunchSpec {
  restart: RestartMode;
}

/** A supervised instance. Its state only moves along the transitions of instance-state.ts. */
export class Instance {
  state: InstanceState = 'STOPPED';
  worker: SpawnedWorker | undefined;
  restarts = 0;
  startedAt = 0;
  lastExit: WorkerStatus['lastExit'];
  reason: string | undefined;
  launched: LaunchedWorker | undefined;
  private readonly crashes: CrashPolicy;
  private readonly abort = new AbortController();
  private stopping: Promise<void> | undefined;

  constructor(public spec: InstanceSpec, private readonly deps: InstanceDeps) {
    this.crashes = deps.crashPolicy();
  }

  get identifier(): string { return this.spec.identifier; }
  get productRef(): string { return `${this.spec.type}/${this.spec.product}`; }
  get live(): boolean { return LIVE_STATES.includes(this.state); }

  /** First start: STARTING → READY; a refused start ends INVALID (config, commands, package) and throws. */
  async start(): Promise<void> {
    this.moveTo('STARTING');
    try {
      this.adopt(await this.deps.launch(this.spec));
    } catch (error) {
      this.reason = error instanceof LaunchError ? error.reason : errorMessage(error);
      if (error instanceof LaunchError && error.stage === 'config') this.publish('CONFIG_INVALID', { reason: this.reason });
      if (error instanceof LaunchError && error.stage === 'package') this.publish('PACKAGE_REJECTED', { reason: this.reason });
      if (this.state === 'STARTING') this.moveTo('INVALID', { reason: this.reason });
      throw error;
    }
  }

  /** Swaps in a worker of another version that is already READY (rolling update); returns the old one to drain. */
  swap(next: LaunchedWorker, version: string): { worker: SpawnedWorker | undefined; version: string } {
    const old = { worker: this.worker, version: this.spec.version };
    this.spec = { ...this.spec, version };
    this.adopt(next, false);
    return old;
  }

  /** Drain then stop; idempotent. Exits during drain or stop are never crashes. */
  stop(): Promise<void> {
    return (this.stopping ??= this.doStop());
  }

  /** The status row of this instance. */
  status(): WorkerStatus {
    const up = this.state === 'READY' || this.state === 'DRAINING' ? Math.floor((this.deps.clock.now() - this.startedAt) / 1000) : 0;
    return {
      identifier: this.identifier, product: this.productRef, version: this.spec.version, state: this.state,
      pid: this.live ? this.worker?.pid ?? null : null, restarts: this.restarts, uptimeSeconds: up,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}), ...(this.reason ? { reason: this.reason } : {}),
    };
  }

  private adopt(launched: LaunchedWorker, announce = true): void {
    this.launched = launched;
    this.worker = launched.worker;
    this.startedAt = this.deps.clock.now();
    this.reason = undefined;
    const worker = launched.worker;
    void worker.exited.then((exit) => this.onExit(worker, exit));
    if (announce || this.state !== 'READY') this.moveTo('READY');
    else this.deps.changed();
  }

  private async doStop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    if (this.state === 'READY' || this.state === 'STARTING') this.moveTo('DRAINING');
    const worker = this.worker;
    if (worker && this.state === 'DRAINING') {
      await this.deps.drainAndStop(worker, { identifier: this.identifier, version: this.spec.version });
    }
    if (this.state !== 'STOPPED') this.moveTo('STOPPED');
  }

  private onExit(worker: SpawnedWorker, exit: ExitInfo): void {
    if (worker !== this.worker) return; // an old version after a swap, or a run already replaced
    const uptimeMs = this.deps.clock.now() - this.startedAt;
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date(this.deps.clock.now()).toISOString() };
    if (this.stopping || this.state === 'DRAINING' || this.state === 'STOPPED') return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    // The admin's own reason for ending it (MEMORY_LIMIT: …) comes first: it says why, not how.
    const why = exit.reason ?? `exited with ${how}`;
    this.publish('WORKER_EXITED', { reason: why });
    if (this.spec.restart === 'never' || (this.spec.restart === 'on-failure' && exit.code === 0)) {
      this.moveTo('STOPPED', { reason: why });
      return;
    }
    void this.restartAfterCrash(uptimeMs, why);
  }

  private async restartAfterCrash(uptimeMs: number, why: string): Promise<void> {
    const decision = this.crashes.onCrash(uptimeMs);
    if (decision.action === 'give-up') {
      this.reason = `${decision.reason} (last: ${why})`;
      this.moveTo('FAILED', { reason: this.reason });
      return;
    }
    this.moveTo('RESTARTING', { reason: `${why}; restarting in ${decision.delayMs} ms` });
    try {
      await this.deps.clock.sleep(decision.delayMs, this.abort.signal);
    } catch {
      return; // stopped while waiting
    }
    if (this.stopping) return;
    this.moveTo('STARTING');
    try {
      const launched = await this.deps.launch(this.spec);
      if (this.stopping) {
        await this.deps.drainAndStop(launched.worker, { identifier: this.identifier, version: this.spec.version });
        return;
      }
      this.restarts += 1;
      this.adopt(launched);
    } catch (error) {
      const reason = error instanceof LaunchError ? error.reason : errorMessage(error);
      this.deps.logger.warn({ identifier: this.identifier, reason }, 'restart failed');
      if (!this.stopping) void this.restartAfterCrash(0, reason);
    }
  }

  private moveTo(next: InstanceState, extra: Record<string, unknown> = {}): void {
    assertTransition(this.identifier, this.state, next);
    this.deps.logger.info({ identifier: this.identifier, version: this.spec.version, from: this.state, to: next, ...extra }, 'instance state');
    this.state = next;
    this.publish(STATE_EVENTS[next], extra);
    this.deps.changed();
  }

  private publish(event: string, extra: Record<string, unknown>): void {
    this.deps.publish(event, { identifier: this.identifier, product: this.productRef, version: this.spec.version, ...extra });
  }
}
