// OTLP export of the ops metrics: a real local HTTP server stands in for the collector and parses what the admin POSTs.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promToOtel, type PromMetricJson } from '../../src/ops/metrics/otel-producer.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import type { RunningStack } from '../../src/up/stack.js';
import { startBareStack } from '../helpers/stack.js';
import { ECHO_CONNECTOR, eventually } from './helpers.js';

/** One request the collector received: its path and its JSON body (OTLP/HTTP JSON, the exporter's protocol). */
interface Received {
  path: string;
  contentType: string | undefined;
  body: OtlpBody;
}
interface OtlpValue { stringValue?: string }
interface OtlpPoint { attributes?: Array<{ key: string; value: OtlpValue }>; asDouble?: number; asInt?: string; count?: string; bucketCounts?: string[]; explicitBounds?: number[] }
interface OtlpMetric { name: string; sum?: { dataPoints: OtlpPoint[]; isMonotonic?: boolean }; gauge?: { dataPoints: OtlpPoint[] }; histogram?: { dataPoints: OtlpPoint[] } }
interface OtlpBody {
  resourceMetrics: Array<{ resource: { attributes: Array<{ key: string; value: OtlpValue }> }; scopeMetrics: Array<{ metrics: OtlpMetric[] }> }>;
}

/** A collector on 127.0.0.1:0 that keeps every request and answers 200. */
async function startCollector(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const attr = (attrs: Array<{ key: string; value: OtlpValue }> | undefined, key: string): string | undefined => attrs?.find((a) => a.key === key)?.value.stringValue;
const metricsOf = (body: OtlpBody): OtlpMetric[] => body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
/** The exported value of worker_admin_commands{command, status="SUCCESS"}, 0 when absent. */
function commandsSucceeded(body: OtlpBody, command: string): number {
  const metric = metricsOf(body).find((m) => m.name === 'worker_admin_commands');
  const point = metric?.sum?.dataPoints.find((p) => attr(p.attributes, 'command') === command && attr(p.attributes, 'status') === 'SUCCESS');
  return point?.asDouble ?? 0;
}

interface OtelStack { stack: RunningStack; rpc: RouterRpc; collector: Awaited<ReturnType<typeof startCollector>>; stateDir: string }

/** A stack running utils/echo whose ops metrics go to a fresh local collector every `interval`. */
async function startOtelStack(interval: string): Promise<OtelStack> {
  const collector = await startCollector();
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-otel-'));
  const stack = await startBareStack(stateDir, {
    ops: { listen: '127.0.0.1:0', otel: { endpoint: collector.base, interval } },
    timeouts: { command: '5s' }, connectors: [ECHO_CONNECTOR],
  });
  return { stack, rpc: createRouterRpc({ address: stack.router.address, token: stack.credentials.adminToken }), collector, stateDir };
}

async function stopOtelStack(t: OtelStack | undefined): Promise<void> {
  if (!t) return;
  t.rpc.close();
  await t.stack.close();
  t.collector.server.close();
  try {
    rmSync(t.stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch {
    // best effort: the admin's state.json may still be landing after close (ENOTEMPTY); a temp dir left behind is harmless
  }
}

async function echo(t: OtelStack, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const reply = await t.rpc.sendCommand({ command: 'ECHO', payload: JSON.stringify({ text: `hi ${i}` }), timeout_ms: 10_000, target: '' });
    expect(reply.status).toBe('SUCCESS');
  }
}

describe('OTLP export on a short interval', () => {
  let t: OtelStack;
  beforeAll(async () => {
    t = await startOtelStack('200ms');
  });
  afterAll(() => stopOtelStack(t));

  it('POSTs JSON to /v1/metrics under service.name worker-admin, with the command counters that moved', async () => {
    await echo(t, 3);
    const seen = await eventually(async () => t.collector.received.find((r) => commandsSucceeded(r.body, 'ECHO') >= 3), 15_000, 'an export with 3 ECHO commands');
    expect(seen.path).toBe('/v1/metrics');
    expect(seen.contentType).toBe('application/json');
    const resource = seen.body.resourceMetrics[0]!.resource.attributes;
    expect(attr(resource, 'service.name')).toBe('worker-admin');
    expect(attr(resource, 'service.version')).toMatch(/^\d+\.\d+\.\d+/);
    const metrics = metricsOf(seen.body);
    expect(metrics.find((m) => m.name === 'worker_admin_commands')?.sum?.isMonotonic).toBe(true);
    // the same metrics as GET /metrics: instances by state, dispatch latency as a histogram
    const ready = metrics.find((m) => m.name === 'worker_admin_instances')?.gauge?.dataPoints.find((p) => attr(p.attributes, 'state') === 'READY');
    expect(ready?.asDouble).toBe(1);
    const latency = metrics.find((m) => m.name === 'worker_admin_command_duration_seconds')?.histogram?.dataPoints.find((p) => attr(p.attributes, 'command') === 'ECHO');
    expect(Number(latency?.count)).toBeGreaterThanOrEqual(3);
  });
});

describe('OTLP export on close', () => {
  it('flushes the last counts when ops closes, even before the first interval', async () => {
    const t = await startOtelStack('1h');
    try {
      await echo(t, 2);
      expect(t.collector.received).toEqual([]);
      await t.stack.close();
      expect(t.collector.received).toHaveLength(1);
      expect(t.collector.received[0]!.path).toBe('/v1/metrics');
      expect(commandsSucceeded(t.collector.received[0]!.body, 'ECHO')).toBe(2);
    } finally {
      await stopOtelStack(t);
    }
  });
});

describe('prom-client JSON to OTel data', () => {
  it('turns cumulative Prometheus buckets into per-bucket counts, and drops _total from counter names', () => {
    const json: PromMetricJson[] = [
      { name: 'x_seconds', help: 'h', type: 'histogram', values: [
        { value: 1, metricName: 'x_seconds_bucket', labels: { le: 0.1, command: 'A' } },
        { value: 3, metricName: 'x_seconds_bucket', labels: { le: 1, command: 'A' } },
        { value: 4, metricName: 'x_seconds_bucket', labels: { le: '+Inf', command: 'A' } },
        { value: 5.5, metricName: 'x_seconds_sum', labels: { command: 'A' } },
        { value: 4, metricName: 'x_seconds_count', labels: { command: 'A' } },
      ] },
      { name: 'y_total', help: 'c', type: 'counter', values: [{ value: 2, labels: { status: 'OK' } }] },
    ];
    const [histogram, counter] = promToOtel(json, [1, 0], [2, 0]);
    expect(histogram).toMatchObject({ descriptor: { name: 'x_seconds', unit: 's' }, dataPoints: [
      { attributes: { command: 'A' }, value: { buckets: { boundaries: [0.1, 1], counts: [1, 2, 1] }, sum: 5.5, count: 4 } },
    ] });
    expect(counter).toMatchObject({ descriptor: { name: 'y' }, isMonotonic: true, dataPoints: [{ attributes: { status: 'OK' }, value: 2 }] });
  });
});
