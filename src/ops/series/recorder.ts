// Feeds the series ring: commands and their latency from the router observer, admin events, and a sample every step.
import type { WorkerStatus } from '../../admin/instance.js';
import { SeriesRing, STATES, STATUSES, type ReplyStatus, type SeriesView } from './ring.js';

/** Latencies kept per step for its percentiles: a uniform sample (reservoir) of at most this many. */
const LATENCY_RESERVOIR = 1024;

/** Counts what happens between two samples and turns it into one point per step. */
export class SeriesRecorder {
  readonly ring: SeriesRing;
  private counts = new Map<string, number>();
  private readonly latencies = new Float64Array(LATENCY_RESERVOIR);
  private seen = 0;
  private last: number;

  constructor(
    private readonly workers: () => WorkerStatus[],
    opts: { stepMs?: number; windowMs?: number; now: number; random?: () => number },
  ) {
    this.ring = new SeriesRing(opts.stepMs, opts.windowMs);
    this.last = opts.now;
    this.random = opts.random ?? Math.random;
  }

  private readonly random: () => number;

  /** One command answered by the router. */
  command(status: string, latencyMs: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    this.seen += 1;
    if (this.seen <= LATENCY_RESERVOIR) {
      this.latencies[this.seen - 1] = latencyMs;
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < LATENCY_RESERVOIR) this.latencies[slot] = latencyMs;
  }

  /** An admin event: restarts and update ends become markers; UPDATE_STARTED opens a band that its end closes. */
  event(name: string, payload: Record<string, unknown>, at: number): void {
    const text = (key: string): string => (typeof payload[key] === 'string' ? (payload[key] as string) : '');
    const identifier = text('identifier');
    const product = text('product');
    switch (name) {
      case 'WORKER_RESTARTING':
        this.ring.addMarker({ t: at, kind: 'restart', identifier, product, detail: text('version') });
        break;
      case 'UPDATE_STARTED':
        this.ring.openBand({ start: at, identifier, product, from: text('from'), to: text('to') });
        break;
      case 'UPDATE_SUCCEEDED':
      case 'UPDATE_FAILED': {
        const outcome = name === 'UPDATE_SUCCEEDED' ? 'succeeded' : 'failed';
        this.ring.closeBand(identifier, product, at, outcome);
        this.ring.addMarker({ t: at, kind: 'update', identifier, product, detail: `${outcome} ${text('from')} → ${text('to')}` });
        break;
      }
      default:
    }
  }

  /** Closes the step ending at `now`: rates over the time since the last sample, percentiles, instance states. */
  sample(now: number): void {
    const seconds = Math.max((now - this.last) / 1000, 0.001);
    const n = Math.min(this.seen, LATENCY_RESERVOIR);
    const sorted = this.latencies.subarray(0, n).slice().sort();
    const pct = (p: number): number | null => (n === 0 ? null : round(sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!));
    const rows = this.workers();
    this.ring.push({
      t: now,
      commands: Object.fromEntries(STATUSES.map((s) => [s, round((this.counts.get(s) ?? 0) / seconds)])) as Record<ReplyStatus, number>,
      latency_ms: { p50: pct(50), p99: pct(99) },
      instances: Object.fromEntries(STATES.map((s) => [s, rows.filter((w) => w.state === s).length])) as SeriesView['points'][number]['instances'],
    });
    this.counts = new Map();
    this.seen = 0;
    this.last = now;
  }

  view(now: number): SeriesView {
    return this.ring.view(now);
  }
}

// Three decimals: enough for ms and rates, and the page shows the same numbers the API gives.
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
