// Load generators: a closed loop (N calls always in flight) and an open loop (a fixed rate, whatever the replies do); a tally of replies.
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './stats.mjs';

/**
 * Keeps `concurrency` calls of `call()` (→ Promise<boolean ok>) in flight for `durationMs`.
 * Returns {count, failures, rate (calls/s), p50, p99 (ms), latencies (ms, ascending)}.
 */
export async function closedLoop({ call, concurrency, durationMs }) {
  const latencies = [];
  let failures = 0;
  const until = performance.now() + durationMs;
  const loop = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const ok = await call().catch(() => false);
      latencies.push(performance.now() - t);
      if (!ok) failures += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { count: latencies.length, failures, rate: latencies.length / (elapsed / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), latencies };
}

/**
 * Starts `call()` at `rate` per second for `durationMs` (in 10 ms ticks), without waiting for replies.
 * Resolves once every call settled: {sent, failures, lateMs: how far the sender fell behind, p50, p99}.
 */
export async function openLoop({ call, rate, durationMs, tickMs = 10 }) {
  const pending = [];
  const latencies = [];
  let failures = 0;
  let sent = 0;
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    for (; sent < due; sent += 1) {
      const t = performance.now();
      pending.push(call().catch(() => false).then((ok) => {
        latencies.push(performance.now() - t);
        if (!ok) failures += 1;
      }));
    }
    await sleep(tickMs);
  }
  const lateMs = (performance.now() - started) - (sent / rate) * 1000;
  await Promise.all(pending);
  latencies.sort((a, b) => a - b);
  return { sent, failures, lateMs, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Counts replies by outcome: SUCCESS, another status (failed, by status and code), or no Reply at all (lost: a gRPC error); by worker. */
export function tally() {
  const t = { sent: 0, success: 0, failed: 0, lost: 0, statuses: {}, workers: {} };
  return {
    t,
    call(send) {
      t.sent += 1;
      return send().then((reply) => {
        t.workers[reply.worker] = (t.workers[reply.worker] ?? 0) + 1;
        if (reply.status === 'SUCCESS') t.success += 1;
        else {
          t.failed += 1;
          const key = reply.error ? `${reply.status} ${reply.error.split(':')[0]}` : reply.status;
          t.statuses[key] = (t.statuses[key] ?? 0) + 1;
        }
        return reply.status === 'SUCCESS';
      }, (error) => {
        t.lost += 1;
        t.statuses[`grpc ${error.code ?? error.message}`] = (t.statuses[`grpc ${error.code ?? error.message}`] ?? 0) + 1;
        return false;
      });
    },
  };
}
