// One supervised instance: an identifier running one version, its state machine, restarts with backoff, drain-then-stop.
import type { RestartMode } from '../config/types.js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { assertTransition, LIVE_STATES, STATE_EVENTS, type InstanceState } from './instance-state.js';
import { LaunchError, type LaunchedWorker, type LaunchSpec } from './launcher.js';
import type { Clock } from '../common/clock.js';
import type { RestartDecision, RestartPolicy } from '../process/backoff.js';
import type { ExitInfo, SpawnedWorker } from './ports.js';
import type { DrainRef } from './update/drain.js';
import { productKey } from '../common/names.js';

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
  /** The last development-mode re-publish that moved it onto new bytes of its version: when, and the zips' sha256. */
  republished?: Republished;
}

/** A version re-published in place under `up` in development mode (docs/repository.md). */
export interface Republished {
  at: string;
  from: string;
  to: string;
}

export interface InstanceDeps {
  launch(spec: LaunchSpec): Promise<LaunchedWorker>;
  /** Drain on the router (no new commands), wait for exit up to drainTimeout, then SIGTERM/SIGKILL the group. */
  drainAndStop(worker: SpawnedWorker, ref: DrainRef): Promise<void>;
  publish(event: string, payload: Record<string, unknown>): void;
  clock: Clock;
  logger: Logger;
  /** The restart policy of one instance: it alone decides what follows an exit, and counts restarts. */
  restartPolicy(mode: RestartMode): RestartPolicy;
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
  lastExit: WorkerStatus['lastExit'];
  reason: string | undefined;
  launched: LaunchedWorker | undefined;
  /** Set once a re-publish moved it onto new bytes of its version; cleared when it moves to another version. */
  republished: Republished | undefined;
  private readonly restart: RestartPolicy;
  private readonly abort = new AbortController();
  private stopping: Promise<void> | undefined;

  constructor(public spec: InstanceSpec, private readonly deps: InstanceDeps) {
    this.restart = deps.restartPolicy(spec.restart);
  }

  get identifier(): string { return this.spec.identifier; }
  get productRef(): string { return productKey(this.spec); }
  get live(): boolean { return LIVE_STATES.includes(this.state); }
  /** Processes started by a restart after a crash. */
  get restarts(): number { return this.restart.restarts; }

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

  /** Swaps in a worker of another version (or other bytes of this one) already READY (rolling update); returns the old one to drain. */
  swap(next: LaunchedWorker, version: string, config: InstanceSpec['config'] = this.spec.config): { worker: SpawnedWorker | undefined; ref: DrainRef } {
    const old = { worker: this.worker, ref: this.drainRef() };
    if (version !== this.spec.version) this.republished = undefined;
    this.spec = { ...this.spec, version, config };
    this.adopt(next, false);
    return old;
  }

  /** How long it has been READY on its current process (ms); undefined when it is not READY. */
  readyForMs(): number | undefined {
    return this.state === 'READY' ? this.restart.uptimeMs() : undefined;
  }

  /** Drain then stop; idempotent. Exits during drain or stop are never crashes. */
  stop(): Promise<void> {
    return (this.stopping ??= this.doStop());
  }

  /** The status row of this instance. */
  status(): WorkerStatus {
    const up = this.state === 'READY' || this.state === 'DRAINING' ? Math.floor(this.restart.uptimeMs() / 1000) : 0;
    return {
      identifier: this.identifier, product: this.productRef, version: this.spec.version, state: this.state,
      pid: this.live ? this.worker?.pid ?? null : null, restarts: this.restarts, uptimeSeconds: up,
      ...(this.lastExit ? { lastExit: this.lastExit } : {}), ...(this.reason ? { reason: this.reason } : {}),
      ...(this.republished ? { republished: this.republished } : {}),
    };
  }

  // The stream of the current worker on the router: its launch's token tells it from another stream of the same version.
  private drainRef(): DrainRef {
    return { identifier: this.identifier, version: this.spec.version, tokenSha256: this.launched?.tokenSha256 ?? '' };
  }

  private adopt(launched: LaunchedWorker, announce = true): void {
    this.launched = launched;
    this.worker = launched.worker;
    this.restart.started();
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
      await this.deps.drainAndStop(worker, this.drainRef());
    }
    if (this.state !== 'STOPPED') this.moveTo('STOPPED');
  }

  private onExit(worker: SpawnedWorker, exit: ExitInfo): void {
    if (worker !== this.worker) return; // an old version after a swap, or a run already replaced
    this.lastExit = { code: exit.code, signal: exit.signal, at: new Date(this.deps.clock.now()).toISOString() };
    const context = this.stopping || this.state === 'STOPPED' ? 'stopping' : this.state === 'DRAINING' ? 'draining' : 'running';
    const decision = this.restart.exited(exit, context);
    if (decision.action === 'stop' && decision.reason === 'requested') return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    // The admin's own reason for ending it (MEMORY_LIMIT: …) comes first: it says why, not how.
    const why = exit.reason ?? `exited with ${how}`;
    this.publish('WORKER_EXITED', { reason: why });
    this.follow(decision, why);
  }

  // Carries out the policy's decision after an exit or a failed restart.
  private follow(decision: RestartDecision, why: string): void {
    if (decision.action === 'stop') {
      this.moveTo('STOPPED', { reason: why });
    } else if (decision.action === 'fail') {
      this.reason = `${decision.reason} (last: ${why})`;
      this.moveTo('FAILED', { reason: this.reason });
    } else {
      void this.restartAfter(decision.delayMs, why);
    }
  }

  private async restartAfter(delayMs: number, why: string): Promise<void> {
    this.moveTo('RESTARTING', { reason: `${why}; restarting in ${delayMs} ms` });
    try {
      await this.deps.clock.sleep(delayMs, this.abort.signal);
    } catch {
      return; // stopped while waiting
    }
    if (this.stopping) return;
    this.moveTo('STARTING');
    try {
      const launched = await this.deps.launch(this.spec);
      if (this.stopping) {
        await this.deps.drainAndStop(launched.worker, { identifier: this.identifier, version: this.spec.version, tokenSha256: launched.tokenSha256 });
        return;
      }
      this.adopt(launched);
    } catch (error) {
      const reason = error instanceof LaunchError ? error.reason : errorMessage(error);
      this.deps.logger.warn({ identifier: this.identifier, reason }, 'restart failed');
      if (!this.stopping) this.follow(this.restart.launchFailed(), reason);
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
