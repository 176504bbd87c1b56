// Every worker's output in one place: rate-limited per run, then to the admin log and the run's file, a tail in memory and live followers.
import type { Logger } from '../common/log.js';
import type { AdminMode } from '../config/types.js';
import { LogRuns, WorkerLog } from './logs.js';
import { defaultLimiterClock, OutputRateLimiter, type LimiterClock } from './rate-limit.js';
import type { OutputStream } from './spawn.js';
import { TailRing, type OutputLine } from './tail-ring.js';

/** Lines and characters of a run's tail kept in memory (what `logs --lines N` can show of a running worker). */
export const TAIL_LINES = 1000;
export const TAIL_CHARS = 128 * 1024;
/** How often a flooding worker's `N lines dropped` line is written. */
const DROP_REPORT_MS = 5000;
// Ended runs whose tail stays readable (the output of a crash), newest kept.
const ENDED_KEPT = 50;

interface OutputHubOptions {
  stateDir: string;
  mode: AdminMode;
  logger?: Logger;
  /** Per worker run: lines per second, lines at once. */
  rate: number;
  burst: number;
  reportIntervalMs?: number;
  clock?: LimiterClock;
}

/** Where one run's lines go (the spawner's output sink): `admit` first (the rate limit), then `line` for each admitted one. */
interface RunSink {
  readonly run: number;
  admit(): boolean;
  line(stream: OutputStream, text: string): void;
  /** The process exited and its output is drained. */
  closed(): void;
}

/** Lines dropped by the rate limit, for the metric. */
type DropListener = (ref: { identifier: string; product: string }, dropped: number) => void;

interface RunState {
  identifier: string;
  version: string;
  run: number;
  tail: TailRing;
  live: boolean;
}

type Follower = { identifier: string | undefined; send: (line: OutputLine) => void };

/** The admin's worker output: open a sink per run; read tails and follow lines by identifier (or all). */
export class WorkerOutputHub {
  private readonly runs = new Map<string, RunState[]>();
  private readonly followers = new Set<Follower>();
  private readonly dropListeners: DropListener[] = [];
  private droppedTotal = 0;
  /** Run numbers of the logs folder, listed once (one per hub, so per admin). */
  private readonly logRuns: LogRuns;

  constructor(private readonly options: OutputHubOptions) {
    this.logRuns = new LogRuns(options.stateDir);
  }

  /** Opens run n+1 of `identifier` (its file, its limiter); `product` labels the drop metric. */
  openRun(ref: { identifier: string; version: string; product?: string }): RunSink {
    const { options } = this;
    const log = WorkerLog.openSync({
      stateDir: options.stateDir, identifier: ref.identifier, version: ref.version, mode: options.mode, runs: this.logRuns,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    const state: RunState = { identifier: ref.identifier, version: ref.version, run: log.run, tail: new TailRing(TAIL_LINES, TAIL_CHARS), live: true };
    this.addRun(state);
    const deliver = (stream: OutputStream, text: string): void => {
      const line: OutputLine = { at: new Date().toISOString(), identifier: ref.identifier, version: ref.version, run: log.run, stream, text };
      log.line(stream, text, line.at);
      state.tail.push(line);
      for (const f of this.followers) if (f.identifier === undefined || f.identifier === ref.identifier) f.send(line);
    };
    const limiter = new OutputRateLimiter(
      { rate: options.rate, burst: options.burst, reportIntervalMs: options.reportIntervalMs ?? DROP_REPORT_MS },
      (dropped) => {
        this.droppedTotal += dropped;
        deliver('stderr', `${dropped} lines dropped`);
        for (const listen of this.dropListeners) listen({ identifier: ref.identifier, product: ref.product ?? '' }, dropped);
      },
      options.clock ?? defaultLimiterClock,
    );
    return {
      run: log.run,
      admit: () => limiter.admit(),
      line: deliver,
      closed: () => {
        limiter.close();
        state.live = false;
        void log.close();
      },
    };
  }

  /** Called with each `N lines dropped` report. */
  onDropped(listener: DropListener): void {
    this.dropListeners.push(listener);
  }

  /** Lines dropped by every run so far (reported ones). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** True when `identifier` has had a run since the admin started. */
  knows(identifier: string): boolean {
    return this.runs.has(identifier);
  }

  /** The runs kept for `identifier` (live ones, and the last ended one), oldest first. */
  runsOf(identifier: string): Array<{ version: string; run: number; live: boolean }> {
    return (this.runs.get(identifier) ?? []).map((r) => ({ version: r.version, run: r.run, live: r.live }));
  }

  /** The last `n` lines of `identifier`'s kept runs (every identifier when undefined), in time order. */
  tail(identifier: string | undefined, n: number): OutputLine[] {
    const states = identifier === undefined ? [...this.runs.values()].flat() : this.runs.get(identifier) ?? [];
    const lines = states.flatMap((s) => s.tail.last(n));
    lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)); // stable: a run's own order is kept within one ms
    return lines.slice(Math.max(0, lines.length - n));
  }

  /** Sends every later line of `identifier` (any run: restarts and updates included; all when undefined). Returns the unsubscribe. */
  follow(identifier: string | undefined, send: (line: OutputLine) => void): () => void {
    const follower: Follower = { identifier, send };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  // A new run keeps the live ones (a rolling update has two) and the newest ended one; older tails go.
  private addRun(state: RunState): void {
    const previous = this.runs.get(state.identifier) ?? [];
    const ended = previous.filter((r) => !r.live).slice(-1);
    this.runs.delete(state.identifier); // re-inserted last: Map order is recency
    this.runs.set(state.identifier, [...ended, ...previous.filter((r) => r.live), state]);
    let endedOnly = 0;
    for (const [id, states] of [...this.runs].reverse()) {
      if (states.some((s) => s.live)) continue;
      endedOnly += 1;
      if (endedOnly > ENDED_KEPT) this.runs.delete(id);
    }
  }
}
