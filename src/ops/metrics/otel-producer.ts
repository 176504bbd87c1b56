// The prom-client registry read as OpenTelemetry metric data, so metrics.ts stays the one place that defines a metric.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality, DataPointType,
  type CollectionResult, type DataPoint, type MetricData, type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import type { Registry } from 'prom-client';

/** One entry of `registry.getMetricsAsJSON()` as it is at run time (`type` is a string there, histogram rows carry `metricName`). */
export interface PromMetricJson {
  name: string;
  help: string;
  type: unknown;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** A MetricProducer for a PeriodicExportingMetricReader: each collect scrapes `registry` (running its collect hooks). */
export function promRegistryProducer(registry: Registry, resource: Resource, scope: { name: string; version: string }, now: () => number = Date.now): MetricProducer {
  const startTime = toHrTime(now());
  return {
    async collect(): Promise<CollectionResult> {
      const metrics = (await registry.getMetricsAsJSON()) as unknown as PromMetricJson[];
      return {
        resourceMetrics: { resource, scopeMetrics: [{ scope, metrics: promToOtel(metrics, startTime, toHrTime(now())) }] },
        errors: [],
      };
    },
  };
}

/** Counters become cumulative monotonic sums (without the `_total` Prometheus adds back), gauges gauges, histograms histograms. */
export function promToOtel(metrics: readonly PromMetricJson[], startTime: HrTime, endTime: HrTime): MetricData[] {
  const out: MetricData[] = [];
  for (const metric of metrics) {
    const type = String(metric.type);
    const point = <T>(labels: Record<string, string | number>, value: T): DataPoint<T> => ({ startTime, endTime, attributes: attributesOf(labels), value });
    if (type === 'counter') {
      out.push({
        descriptor: descriptor(metric.name.replace(/_total$/, ''), metric.help), dataPointType: DataPointType.SUM,
        aggregationTemporality: AggregationTemporality.CUMULATIVE, isMonotonic: true,
        dataPoints: metric.values.map((v) => point(v.labels, v.value)),
      });
    } else if (type === 'gauge') {
      out.push({
        descriptor: descriptor(metric.name, metric.help), dataPointType: DataPointType.GAUGE,
        aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: metric.values.map((v) => point(v.labels, v.value)),
      });
    } else if (type === 'histogram') {
      out.push({
        descriptor: descriptor(metric.name, metric.help), dataPointType: DataPointType.HISTOGRAM,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPoints: histogramSeries(metric).map((s) => point(s.labels, s.value)),
      });
    }
    // summaries: none are defined in metrics.ts
  }
  return out;
}

interface HistogramSeries {
  labels: Record<string, string | number>;
  value: { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number };
}

/** Groups `_bucket`/`_sum`/`_count` rows by label set; Prometheus buckets are cumulative, OTLP's are per bucket. */
function histogramSeries(metric: PromMetricJson): HistogramSeries[] {
  const series = new Map<string, { labels: Record<string, string | number>; buckets: Array<[number, number]>; sum: number; count: number }>();
  for (const row of metric.values) {
    const { le, ...labels } = row.labels;
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
    let s = series.get(key);
    if (!s) series.set(key, (s = { labels, buckets: [], sum: 0, count: 0 }));
    if (row.metricName?.endsWith('_sum')) s.sum = row.value;
    else if (row.metricName?.endsWith('_count')) s.count = row.value;
    else if (le !== undefined) s.buckets.push([le === '+Inf' ? Infinity : Number(le), row.value]);
  }
  return [...series.values()].map((s) => {
    const sorted = s.buckets.sort(([a], [b]) => a - b);
    const boundaries = sorted.filter(([le]) => le !== Infinity).map(([le]) => le);
    const counts = boundaries.map((_, i) => sorted[i]![1] - (i > 0 ? sorted[i - 1]![1] : 0));
    counts.push(s.count - (sorted[boundaries.length - 1]?.[1] ?? 0));
    return { labels: s.labels, value: { buckets: { boundaries, counts }, sum: s.sum, count: s.count } };
  });
}

function descriptor(name: string, description: string): MetricData['descriptor'] {
  const unit = name.endsWith('_seconds') ? 's' : name.endsWith('_bytes') ? 'By' : '';
  return { name, description, unit, valueType: ValueType.DOUBLE };
}

function attributesOf(labels: Record<string, string | number>): Attributes {
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
}

/** Epoch milliseconds as OTel's [seconds, nanoseconds]. */
function toHrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}
