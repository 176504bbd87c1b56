// The admin's own time series for the status page and /api/v1/series: fixed-size columns, markers and update bands (docs/ops.md).
import type { InstanceState } from '../../admin/instance-state.js';

export const STATUSES = ['SUCCESS', 'FAIL', 'TIMEOUT', 'NO_WORKER', 'INVALID'] as const;
export type ReplyStatus = (typeof STATUSES)[number];
export const STATES: readonly InstanceState[] = ['STARTING', 'READY', 'DRAINING', 'STOPPED', 'RESTARTING', 'FAILED', 'INVALID'];

/** Defaults: one point every 5 s over the last 15 minutes (180 points). */
const SERIES_STEP_MS = 5_000;
const SERIES_WINDOW_MS = 15 * 60_000;
/** Markers and bands kept at most (older ones also leave with the window). */
export const MAX_MARKERS = 256;
export const MAX_BANDS = 64;
/** Characters kept of a marker's or band's names (identifiers and products are shorter; a longer one is cut). */
const MAX_NAME = 128;

/** One point: commands per second by reply status, dispatch latency percentiles, instances by state. */
export interface SeriesPoint {
  /** Epoch ms at the end of the step. */
  t: number;
  commands: Record<ReplyStatus, number>;
  /** Milliseconds; null when no command completed in the step. */
  latency_ms: { p50: number | null; p99: number | null };
  instances: Record<InstanceState, number>;
}

/** A restart or an update outcome at one time. */
export interface SeriesMarker {
  t: number;
  kind: 'restart' | 'update';
  identifier: string;
  product: string;
  /** restart: the version restarted; update: succeeded or failed. */
  detail: string;
}

/** A rolling update from UPDATE_STARTED to its end (null while it runs). */
export interface SeriesBand {
  start: number;
  end: number | null;
  identifier: string;
  product: string;
  from: string;
  to: string;
  outcome: 'running' | 'succeeded' | 'failed';
}

export interface SeriesView {
  step_seconds: number;
  window_seconds: number;
  now: number;
  points: SeriesPoint[];
  markers: SeriesMarker[];
  bands: SeriesBand[];
}

// Column layout of one point in the Float64Array: t, 5 statuses, p50, p99, 7 states.
const COLS = 1 + STATUSES.length + 2 + STATES.length;

/** A ring of `capacity` points in one Float64Array (capacity × 15 × 8 bytes), plus at most MAX_MARKERS markers and MAX_BANDS bands. */
export class SeriesRing {
  readonly capacity: number;
  private readonly data: Float64Array;
  private next = 0;
  private count = 0;
  private markers: SeriesMarker[] = [];
  private bands: SeriesBand[] = [];

  constructor(readonly stepMs = SERIES_STEP_MS, readonly windowMs = SERIES_WINDOW_MS) {
    this.capacity = Math.ceil(windowMs / stepMs);
    this.data = new Float64Array(this.capacity * COLS);
  }

  /** Adds a point, overwriting the oldest once full. */
  push(point: SeriesPoint): void {
    const at = this.next * COLS;
    const row = [point.t, ...STATUSES.map((s) => point.commands[s]), point.latency_ms.p50 ?? NaN, point.latency_ms.p99 ?? NaN, ...STATES.map((s) => point.instances[s])];
    this.data.set(row, at);
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    this.prune(point.t);
  }

  addMarker(marker: SeriesMarker): void {
    this.markers.push({ ...marker, identifier: cut(marker.identifier), product: cut(marker.product), detail: cut(marker.detail) });
    if (this.markers.length > MAX_MARKERS) this.markers.shift();
  }

  /** Opens a band; an update still open for the same identifier is closed as failed first (its end was missed). */
  openBand(band: Omit<SeriesBand, 'end' | 'outcome'>): void {
    this.closeBand(band.identifier, band.product, band.start, 'failed');
    this.bands.push({ ...band, identifier: cut(band.identifier), product: cut(band.product), from: cut(band.from), to: cut(band.to), end: null, outcome: 'running' });
    if (this.bands.length > MAX_BANDS) this.bands.shift();
  }

  /** Ends the open band of `identifier` (else of `product`); false when none is open. */
  closeBand(identifier: string, product: string, end: number, outcome: 'succeeded' | 'failed'): boolean {
    const open = this.bands.filter((b) => b.end === null);
    const band = open.find((b) => b.identifier === identifier) ?? open.find((b) => b.product === product && identifier === '');
    if (!band) return false;
    band.end = end;
    band.outcome = outcome;
    return true;
  }

  /** Points oldest first, with the markers and bands that overlap the window ending at `now`. */
  view(now: number): SeriesView {
    const points: SeriesPoint[] = [];
    for (let i = 0; i < this.count; i += 1) {
      const at = ((this.next - this.count + i + this.capacity) % this.capacity) * COLS;
      const col = (k: number): number => this.data[at + k]!;
      const num = (v: number): number | null => (Number.isNaN(v) ? null : v);
      const point: SeriesPoint = {
        t: col(0),
        commands: Object.fromEntries(STATUSES.map((s, k) => [s, col(1 + k)])) as Record<ReplyStatus, number>,
        latency_ms: { p50: num(col(1 + STATUSES.length)), p99: num(col(2 + STATUSES.length)) },
        instances: Object.fromEntries(STATES.map((s, k) => [s, col(3 + STATUSES.length + k)])) as Record<InstanceState, number>,
      };
      if (point.t > now - this.windowMs) points.push(point);
    }
    const from = now - this.windowMs;
    return {
      step_seconds: this.stepMs / 1000, window_seconds: this.windowMs / 1000, now, points,
      markers: this.markers.filter((m) => m.t > from).map((m) => ({ ...m })),
      bands: this.bands.filter((b) => b.end === null || b.end > from).map((b) => ({ ...b })),
    };
  }

  /** Markers and bands held right now (bounded by MAX_MARKERS and MAX_BANDS). */
  get held(): { points: number; markers: number; bands: number } {
    return { points: this.count, markers: this.markers.length, bands: this.bands.length };
  }

  // Markers and ended bands older than the window go; an open band stays (its update still runs).
  private prune(now: number): void {
    const from = now - this.windowMs;
    while (this.markers.length > 0 && this.markers[0]!.t <= from) this.markers.shift();
    this.bands = this.bands.filter((b) => b.end === null || b.end > from);
  }
}

function cut(text: string): string {
  return text.length > MAX_NAME ? text.slice(0, MAX_NAME) : text;
}
