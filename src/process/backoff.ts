// Restart policy (docs/architecture.md): the one place that decides what follows a worker's exit (restart after a backoff,
// stop, or give up) and counts restarts; the admin's Instance only carries its decisions out.
import { systemClock, type Clock } from '../common/clock.js';
import type { RestartMode } from '../config/types.js';
import type { ExitInfo } from './spawn.js';

export interface BackoffOptions {
  /** First restart delay (1 s), doubled on each consecutive restart. */
  initialDelayMs: number;
  /** Longest delay (60 s). */
  maxDelayMs: number;
  /** A run this long resets the delay and the crash count (30 s). */
  resetAfterMs: number;
  /** A run shorter than this is a quick crash (10 s). */
  minUptimeMs: number;
  /** This many quick crashes in a row: give up, FAILED (5). */
  maxQuickCrashes: number;
}

const DEFAULT_BACKOFF: Readonly<BackoffOptions> = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  resetAfterMs: 30_000,
  minUptimeMs: 10_000,
  maxQuickCrashes: 5,
};

/** What the supervisor was doing when the process exited: exits while draining or stopping are never crashes. */
type ExitContext = 'running' | 'draining' | 'stopping';

export type RestartDecision =
  | { action: 'restart'; delayMs: number; attempt: number; uptimeMs: number }
  /** STOPPED: a requested stop, an exit 0 under on-failure, or any exit under never (the code stays in lastExit). */
  | { action: 'stop'; reason: 'requested' | 'completed' | 'run-once'; exit: ExitInfo }
  /** FAILED: gave up after repeated quick crashes. */
  | { action: 'fail'; reason: string; crashes: number };

/** The decisions a crash can lead to. */
type CrashDecision = Extract<RestartDecision, { action: 'restart' | 'fail' }>;

/** The counters the pure step reads and returns. */
interface BackoffState {
  /** Restarts since the last reset: the delay exponent. */
  attempt: number;
  /** Crashes in a row, each under minUptime. */
  quickCrashes: number;
}

/** Pure step: the decision after a crash that ran `uptimeMs`, and the next counters. */
export function afterCrash(state: BackoffState, uptimeMs: number, options: BackoffOptions = DEFAULT_BACKOFF): { state: BackoffState; decision: CrashDecision } {
  let { attempt, quickCrashes } = state;
  if (uptimeMs >= options.resetAfterMs) {
    attempt = 0;
    quickCrashes = 0;
  }
  quickCrashes = uptimeMs < options.minUptimeMs ? quickCrashes + 1 : 0;
  if (quickCrashes >= options.maxQuickCrashes) {
    const reason = `crashed ${quickCrashes} times in a row, each within ${options.minUptimeMs} ms of starting`;
    return { state: { attempt, quickCrashes }, decision: { action: 'fail', reason, crashes: quickCrashes } };
  }
  attempt += 1;
  const delayMs = Math.min(options.initialDelayMs * 2 ** (attempt - 1), options.maxDelayMs);
  return { state: { attempt, quickCrashes }, decision: { action: 'restart', delayMs, attempt, uptimeMs } };
}

/** Pure: whether an exit under `mode` is a crash to restart (undefined) or ends the instance (the stop decision). */
export function exitOutcome(mode: RestartMode, exit: ExitInfo, context: ExitContext): RestartDecision | undefined {
  if (context !== 'running') return { action: 'stop', reason: 'requested', exit };
  if (mode === 'never') return { action: 'stop', reason: 'run-once', exit };
  if (mode === 'on-failure' && exit.code === 0 && exit.signal === null) return { action: 'stop', reason: 'completed', exit };
  return undefined;
}

/** One instance's restart policy: call started() at each spawn, exited() at each exit, launchFailed() when a restart could not spawn. */
export class RestartPolicy {
  private state: BackoffState = { attempt: 0, quickCrashes: 0 };
  private startedAt: number | undefined;
  private restartPending = false;
  /** Processes started by a restart over the instance's life (ADMIN_LIST_WORKERS `restarts`). */
  restarts = 0;
  readonly options: BackoffOptions;

  constructor(
    readonly mode: RestartMode,
    options: Partial<BackoffOptions> = {},
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    this.options = { ...DEFAULT_BACKOFF, ...options };
  }

  /** Records that a process of the instance just started (counted as a restart when one was decided). */
  started(): void {
    this.startedAt = this.clock.now();
    if (this.restartPending) this.restarts += 1;
    this.restartPending = false;
  }

  /** How long the current process has run (0 when none runs). */
  uptimeMs(): number {
    return this.startedAt === undefined ? 0 : Math.max(0, this.clock.now() - this.startedAt);
  }

  /** The decision for an exit of the current process. */
  exited(exit: ExitInfo, context: ExitContext): RestartDecision {
    const uptimeMs = this.uptimeMs();
    this.startedAt = undefined;
    return exitOutcome(this.mode, exit, context) ?? this.crashed(uptimeMs);
  }

  /** A restart whose process never came up: a crash at once (it counts toward giving up). */
  launchFailed(): CrashDecision {
    return this.crashed(0);
  }

  private crashed(uptimeMs: number): CrashDecision {
    const step = afterCrash(this.state, uptimeMs, this.options);
    this.state = step.state;
    this.restartPending = step.decision.action === 'restart';
    return step.decision;
  }
}
