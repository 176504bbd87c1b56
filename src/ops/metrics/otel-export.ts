// OTLP/HTTP export of the ops metrics when `ops.otel.endpoint` is set; imported lazily by ops.ts (the SDK costs memory).
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Registry } from 'prom-client';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { promRegistryProducer } from './otel-producer.js';

interface OtelExportOptions {
  registry: Registry;
  /** The collector's base URL (`/v1/metrics` is added unless already there). */
  endpoint: string;
  intervalMs: number;
  version: string;
  logger: Logger;
  /** How long close() may spend on the last export; default 5 s (a dead collector must not hold a drain). */
  shutdownTimeoutMs?: number;
}

export interface OtelExport {
  /** The URL metrics are POSTed to. */
  readonly url: string;
  /** Exports once more (flush), then stops. Idempotent. */
  close(): Promise<void>;
}

/** Starts exporting the registry every `intervalMs` to `endpoint`, under resource `service.name: worker-admin`. */
export function startOtelExport(options: OtelExportOptions): OtelExport {
  const url = metricsUrl(options.endpoint);
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': 'worker-admin', 'service.version': options.version }));
  const exporter = loggingExporter(new OTLPMetricExporter({ url }), url, options.logger);
  const reader = new PeriodicExportingMetricReader({
    exporter, exportIntervalMillis: options.intervalMs, exportTimeoutMillis: Math.min(options.intervalMs, 30_000),
    metricProducers: [promRegistryProducer(options.registry, resource, { name: 'worker-admin', version: options.version })],
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  options.logger.info({ url, intervalMs: options.intervalMs }, 'exporting metrics over OTLP/HTTP');
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => (closing ??= provider.shutdown({ timeoutMillis: options.shutdownTimeoutMs ?? 5000 })
      .catch((error: unknown) => options.logger.warn({ url, err: errorMessage(error) }, 'last OTLP metrics export failed'))),
  };
}

/** `http://collector:4318` → `http://collector:4318/v1/metrics`, like OTEL_EXPORTER_OTLP_ENDPOINT. */
function metricsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/metrics')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return url.href;
}

/** The SDK reports export failures only to its (silent) diag logger: say when exports start failing and when they recover. */
function loggingExporter(inner: OTLPMetricExporter, url: string, logger: Logger): PushMetricExporter {
  let failing = false;
  return {
    export(metrics, done) {
      inner.export(metrics, (result) => {
        const ok = result.code === 0; // ExportResultCode.SUCCESS
        if (!ok && !failing) logger.warn({ url, err: result.error ? errorMessage(result.error) : 'unknown' }, 'OTLP metrics export failed (logged once until it recovers)');
        if (ok && failing) logger.info({ url }, 'OTLP metrics export recovered');
        failing = !ok;
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => inner.selectAggregationTemporality(type),
    selectAggregation: (type) => inner.selectAggregation(type),
  };
}
