// Scale: N echo instances to READY through ADMIN_START_WORKER vs PM2 starting N copies of the same worker.mjs
// (goal ≤ 1.0×); admin + router RSS with N instances (goal ≤ 150 MB); dispatch throughput at 1, 20 and N instances
// (should not fall as instances grow). N = 200 (quick: 20, with 5 as the middle step).
// Run alone: `node bench/scale.mjs [--quick]` (needs `npm run build`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { announceWorker } from './lib/by-hand.mjs';
import { closedLoop } from './lib/load.mjs';
import { isMain } from './lib/paths.mjs';
import { startPm2 } from './lib/pm2.mjs';
import { finishRow } from './lib/rows.mjs';
import { startStackProcess } from './lib/stack.mjs';
import { round } from './lib/stats.mjs';
import { textTable } from './lib/table.mjs';

const VERSION = '1.1';
const WRAPPER = new URL('./lib/pm2-echo-wrapper.mjs', import.meta.url).pathname;
const CONFIG = { greeting: 'hello', api_key: 'not-a-real-key', log_level: 'warn', max_sleep_ms: 60000, flavor: 'modern' };
const DISPATCH_CONCURRENCY = 64;
const MB = 1024 * 1024;

/** Starts instances `ids` at once; resolves with the ms until every one replied, and the replies that were not SUCCESS. */
async function startMany(stack, ids) {
  const started = performance.now();
  const replies = await Promise.all(ids.map((identifier) =>
    stack.send('ADMIN_START_WORKER', { product: 'utils/echo', version: VERSION, identifier, params: { greeting: 'hello' } })));
  const failed = replies.filter((r) => r.status !== 'SUCCESS').map((r) => `${r.status} ${r.error}`);
  return { ms: performance.now() - started, failed };
}

/** Like startMany, but any failure is an error (the set-up steps). */
async function startAll(stack, ids) {
  const { failed } = await startMany(stack, ids);
  if (failed.length > 0) throw new Error(`${failed.length} of ${ids.length} starts failed, first: ${failed[0]}`);
}

async function stopAll(stack) {
  const reply = await stack.send('ADMIN_STOP_ALL_WORKERS', {});
  if (reply.status !== 'SUCCESS') throw new Error(`ADMIN_STOP_ALL_WORKERS: ${reply.status} ${reply.error}`);
}

/**
 * Commands each instance serves before the measured window (within the warm-up cap): a fresh node process runs its first
 * thousand or so commands in V8's lower tiers (20 fresh SDK workers measured at 782 µs of worker CPU per command after
 * 3 s of load, 445 µs after 25 s; one worker gets every command and is optimized within a second).
 */
const WARM_PER_INSTANCE = 1000;

/**
 * ECHO commands/s through the router with DISPATCH_CONCURRENCY in flight, as near steady state as the bench's time
 * allows: after a warm-up of at least 500 ms and WARM_PER_INSTANCE commands per instance, or `warmMaxMs`.
 */
async function dispatch(stack, durationMs, instances, warmMaxMs) {
  const payload = JSON.stringify({ text: 'hello', n: 42 });
  const call = async () => (await stack.client.sendCommand({ command: 'ECHO', payload, timeout_ms: 30_000 })).status === 'SUCCESS';
  const warmStarted = performance.now();
  let warmed = 0;
  do {
    warmed += (await closedLoop({ call, concurrency: DISPATCH_CONCURRENCY, durationMs: Math.min(500, durationMs / 4) })).count;
  } while (warmed < instances * WARM_PER_INSTANCE && performance.now() - warmStarted < warmMaxMs);
  const warmMs = Math.round(performance.now() - warmStarted);
  const [before, ownBefore] = [stack.cpu(), process.cpuUsage()];
  const result = await closedLoop({ call, concurrency: DISPATCH_CONCURRENCY, durationMs });
  const [after, own] = [stack.cpu(), process.cpuUsage(ownBefore)];
  if (result.failures > 0) throw new Error(`dispatch: ${result.failures} of ${result.count} ECHO commands failed`);
  // Where the CPU of one command goes (µs): the router's share should not grow with instances; the workers' does
  // (each process runs its share cold for longer, and has its own wake-ups, caches and JIT to keep warm).
  const per = (us) => Math.round(us / result.count);
  result.cpu = { stack: per(after.stack - before.stack), workers: per(after.workers - before.workers), load: per(own.user + own.system) };
  result.warm = { commands: warmed, ms: warmMs };
  return result;
}

/** Resolves once `count` WORKER_REGISTERED events for identifiers starting with `prefix` arrived on topic router. */
async function watchRegistrations(stack, prefix, count, timeoutMs) {
  const watch = stack.admin.watchEvents({ topics: ['router'] });
  watch.on('error', () => {});
  await new Promise((resolve) => watch.once('metadata', resolve)); // the watch is registered from here on
  const seen = new Set();
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.size} of ${count} PM2 workers registered within ${timeoutMs} ms`)), timeoutMs);
    watch.on('data', (e) => {
      if (e.event !== 'WORKER_REGISTERED') return;
      const id = JSON.parse(e.payload || '{}').identifier ?? '';
      if (id.startsWith(prefix)) seen.add(id);
      if (seen.size === count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { done, cancel: () => watch.cancel() };
}

/** PM2 starting `n` copies of the cached echo worker.mjs (fork mode); ms from the start call to the last Welcome. */
async function pm2Start(stack, n, dir) {
  const lines = [];
  for (let i = 0; i < n; i += 1) {
    const identifier = `pm2-${i}`;
    lines.push(await announceWorker(stack.admin, { type: 'utils', product: 'echo', version: VERSION, identifier, target: stack.address, commands: ['ECHO', 'SLOW', 'VERSION'], config: CONFIG }));
  }
  const linesFile = join(stack.stateDir, 'pm2-lines.json');
  writeFileSync(linesFile, JSON.stringify(lines), { mode: 0o600 });
  const pm2 = await startPm2();
  try {
    const registered = await watchRegistrations(stack, 'pm2-', n, 300_000);
    try {
      const started = performance.now();
      await pm2.start([{
        name: 'scale-echo', script: WRAPPER, cwd: dir, exec_mode: 'fork', instances: n, autorestart: false,
        env: { BENCH_LINES: linesFile, BENCH_WORKER: join(dir, 'worker.mjs') },
      }]);
      await registered.done;
      return performance.now() - started;
    } finally {
      registered.cancel();
    }
  } finally {
    await pm2.close();
  }
}

/** Rows {name, value, unit, baseline, ratio, goal, met}. */
export async function runScaleBench({ quick = false } = {}) {
  const n = quick ? 20 : 200;
  const middle = quick ? 5 : 20;
  const dispatchMs = quick ? 1000 : 4000;
  const warmMaxMs = quick ? 3000 : 20_000;
  const ids = (from, to) => Array.from({ length: to - from }, (_, i) => `scale-${from + i}`);
  const stack = await startStackProcess();
  try {
    // The caches (package, configuration) filled by one start, then none running: the burst below starts from there.
    const idle = await stack.memory();
    await startAll(stack, ids(0, 1));
    await stopAll(stack);

    // N at once, from none running; RSS sampled while they start and once all are READY. This comes before any
    // dispatch load: under load the process's heap and malloc arenas grow to a high-water mark that stays (see
    // the row after the dispatch loads), whatever the number of instances, and would hide what N instances cost.
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, stack.rss() ?? 0)), 100);
    let start;
    try {
      start = await startMany(stack, ids(0, n));
    } finally {
      clearInterval(sampler);
    }
    const mem = await stack.memory();
    const rss = mem.rss;
    const atN = await dispatch(stack, dispatchMs, n, warmMaxMs);
    await stopAll(stack);

    // Dispatch at 1 and at `middle` instances, on the same (now warm) process.
    await startAll(stack, ids(0, 1));
    const at1 = await dispatch(stack, dispatchMs, 1, warmMaxMs);
    await startAll(stack, ids(1, middle));
    const atMiddle = await dispatch(stack, dispatchMs, middle, warmMaxMs);
    await stopAll(stack);
    const afterLoads = await stack.memory();

    const pm2Ms = await pm2Start(stack, n, join(stack.stateDir, 'workers', 'utils', 'echo', VERSION));

    const rate = (r) => Math.round(r.rate);
    const lat = (r) => `p50 ${round(r.p50, 1)} ms, p99 ${round(r.p99, 1)} ms; CPU per command: stack (router + admin) ${r.cpu.stack} µs, `
      + `workers ${r.cpu.workers} µs, load generator ${r.cpu.load} µs; after a warm-up of ${r.warm.commands} commands in ${round(r.warm.ms / 1000, 1)} s`;
    return [
      finishRow({
        name: `scale: ${n} echo instances to READY vs PM2 starting ${n} copies`, value: Math.round(start.ms), unit: 'ms', baseline: Math.round(pm2Ms), ratio: round(start.ms / pm2Ms), goal: 'ratio <= 1',
        ...(start.failed.length > 0 ? { error: true, note: `${start.failed.length} of ${n} starts failed, first: ${start.failed[0]}` } : {}),
      }),
      finishRow({
        name: `scale: admin + router RSS with ${n} instances`, value: round(rss / MB, 1), unit: 'MB', baseline: round(idle.rss / MB, 1), ratio: null, goal: 'value <= 150',
        note: `baseline: the same process with no instance. One process (router, admin and the local repository server, as \`up\` runs them); `
          + `with ${n}: heap used ${round(mem.heapUsed / MB, 1)} MB (idle ${round(idle.heapUsed / MB, 1)}), external ${round(mem.external / MB, 1)} MB; `
          + `peak while starting ${round(peak / MB, 1)} MB`,
      }),
      finishRow({
        name: 'scale: admin + router RSS after the dispatch loads (no instance left)', value: round(afterLoads.rss / MB, 1), unit: 'MB', baseline: round(idle.rss / MB, 1), ratio: null, goal: null,
        note: `baseline: the same process before any instance; heap used ${round(afterLoads.heapUsed / MB, 1)} MB of ${round(afterLoads.heapTotal / MB, 1)} MB; `
          + 'RSS keeps the high-water mark of the load (objects promoted under load, malloc arenas), not instances',
      }),
      finishRow({ name: 'scale: dispatch throughput, 1 instance', value: rate(at1), unit: 'cmd/s', baseline: null, ratio: null, goal: null, note: `${DISPATCH_CONCURRENCY} in flight, ${lat(at1)}` }),
      finishRow({ name: `scale: dispatch throughput, ${middle} instances (baseline: 1 instance)`, value: rate(atMiddle), unit: 'cmd/s', baseline: rate(at1), ratio: round(atMiddle.rate / at1.rate), goal: 'ratio >= 0.9', note: lat(atMiddle) }),
      finishRow({ name: `scale: dispatch throughput, ${n} instances (baseline: 1 instance)`, value: rate(atN), unit: 'cmd/s', baseline: rate(at1), ratio: round(atN.rate / at1.rate), goal: 'ratio >= 0.9', note: lat(atN) }),
    ];
  } finally {
    await stack.stop();
  }
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  const rows = await runScaleBench({ quick: process.argv.includes('--quick') });
  console.log(textTable(rows));
  console.log(`scale bench: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
