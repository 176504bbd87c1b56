// Per-worker output rate limit, as journald does it: a bucket of `burst` lines refilled at `rate` lines/s; the excess is dropped and counted.

/** Time for the limiter: now() in ms, and a sleep for the end-of-interval report. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

interface RateLimitOptions {
  /** Lines per second a worker may print in the long run. */
  rate: number;
  /** Lines it may print at once before the rate applies. */
  burst: number;
  /** Time between two `N lines dropped` reports while a worker keeps flooding. */
  reportIntervalMs: number;
}

/** The time read at the start of the current synchronous run, until its microtasks run. */
let runTime: number | undefined;
const endRun = (): void => {
  runTime = undefined;
};

/**
 * The real clock, read once per synchronous run: a flooding worker's chunk of output (64 KiB, hundreds of lines) is
 * admitted line by line within one, and reading the time for each line took as much of the admin's CPU as all the
 * rest of its handling of the flood (docs/ops.md).
 */
export const defaultLimiterClock: LimiterClock = {
  now: () => {
    if (runTime === undefined) {
      runTime = Date.now();
      queueMicrotask(endRun);
    }
    return runTime;
  },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

/**
 * A token bucket that counts what it refuses. The first refusal of a streak arms one timer; when it fires, `report`
 * gets the count dropped since (one call per interval at most, whatever the flood), then the count starts again.
 */
export class OutputRateLimiter {
  private tokens: number;
  private last: number;
  private dropped = 0;
  private armed = false;
  private closed = false;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly report: (dropped: number) => void,
    private readonly clock: LimiterClock = defaultLimiterClock,
  ) {
    this.tokens = options.burst;
    this.last = clock.now();
  }

  /** True when the line may pass; false when it is dropped (and counted). */
  admit(): boolean {
    const now = this.clock.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) * this.options.rate) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.dropped += 1;
    if (!this.armed && !this.closed) {
      this.armed = true;
      void this.clock.sleep(this.options.reportIntervalMs).then(() => {
        this.armed = false;
        this.flush();
      });
    }
    return false;
  }

  /** Lines dropped and not yet reported. */
  get pending(): number {
    return this.dropped;
  }

  /** Reports what is pending now (the run ended); later drops are still counted but never timed. */
  close(): void {
    this.closed = true;
    this.flush();
  }

  private flush(): void {
    const dropped = this.dropped;
    this.dropped = 0;
    if (dropped > 0) this.report(dropped);
  }
}
