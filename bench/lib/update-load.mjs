// A closed-loop ECHO load around one update (bench/fleet-rollout.mjs): every command counted by outcome, rounds pooled.
import { setTimeout as sleep } from 'node:timers/promises';
import { tally } from './load.mjs';
import { percentile } from './stats.mjs';

/** What each ECHO of the load sends. */
export const ECHO_PAYLOAD = JSON.stringify({ text: 'hello', n: 42 });

/**
 * Keeps `lanes` ECHO commands in flight through each client from now until `action()` settled plus `afterMs` (it
 * starts after `beforeMs`); returns the tally, every command's latency and rate, and what `action` resolved with.
 */
export async function underLoad(clients, lanes, action, { beforeMs, afterMs }) {
  const counts = tally();
  const latencies = [];
  let stop = false;
  const lane = async (client) => {
    while (!stop) {
      const t = performance.now();
      await counts.call(() => client.sendCommand({ command: 'ECHO', payload: ECHO_PAYLOAD, timeout_ms: 20_000 }));
      latencies.push(performance.now() - t);
    }
  };
  const started = performance.now();
  const running = clients.flatMap((c) => Array.from({ length: lanes }, () => lane(c)));
  let outcome;
  try {
    await sleep(beforeMs);
    outcome = await action();
    await sleep(afterMs);
  } finally {
    stop = true;
    await Promise.all(running);
  }
  return { ...counts.t, latencies, seconds: (performance.now() - started) / 1000, outcome };
}

/** One side's rounds pooled: counts summed, latencies pooled, statuses and serving versions merged. */
export function pooled(rounds) {
  const sum = { sent: 0, success: 0, failed: 0, lost: 0, statuses: {}, workers: {}, seconds: 0 };
  const latencies = [];
  for (const r of rounds) {
    for (const k of ['sent', 'success', 'failed', 'lost', 'seconds']) sum[k] += r[k];
    for (const k of ['statuses', 'workers']) for (const [key, v] of Object.entries(r[k])) sum[k][key] = (sum[k][key] ?? 0) + v;
    latencies.push(...r.latencies);
  }
  latencies.sort((x, y) => x - y);
  return { ...sum, rate: sum.sent / sum.seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** One line for a pooled load: counts, rate, latency, statuses, the versions that served it. */
export const describeLoad = (r) => `${r.sent} sent (${Math.round(r.rate)}/s, p50 ${r.p50?.toFixed(1)} ms, p99 ${r.p99?.toFixed(1)} ms), ${r.failed} failed, ${r.lost} lost`
  + `${Object.keys(r.statuses).length ? ` ${JSON.stringify(r.statuses)}` : ''}; served by ${servedVersions(r.workers)}`;

/** Commands served per version (`IDENTIFIER@VERSION` → VERSION). */
function servedVersions(workers) {
  const by = {};
  for (const [w, count] of Object.entries(workers)) {
    const v = w.includes('@') ? `@${w.slice(w.lastIndexOf('@') + 1)}` : w || '(none)';
    by[v] = (by[v] ?? 0) + count;
  }
  return Object.entries(by).map(([v, count]) => `${v} ×${count}`).join(', ');
}
