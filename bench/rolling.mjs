// One rolling update under ~1,000 commands/s: commands failed or lost (goal 0) and the update's duration, next to
// PM2's zero-downtime mode (cluster mode, `pm2 reload`) reloading a bare grpc-js echo server under the same load.
// Run alone: `node bench/rolling.mjs [--quick]` (needs `npm run build`). The stack (router + admin + repository)
// runs in a child process, the workers in theirs, PM2 in a temp PM2_HOME; the load generator is this process.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openLoop, tally } from './lib/load.mjs';
import { ROOT, isMain } from './lib/paths.mjs';
import { startPm2 } from './lib/pm2.mjs';
import { startStackProcess } from './lib/stack.mjs';
import { percentile } from './lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const RATE = 1000;
const PAYLOAD = JSON.stringify({ text: 'hello', n: 42 });
const PM2_APP = 'bench-rolling-echo';
// Both sides get the same grace for in-flight work: the stack's drain timeout and PM2's kill_timeout.
const GRACE_MS = 10_000;
/** Updates pooled in `rolling update p99 vs steady` (one gives ~600 samples at RATE). */
const UPDATES = 5;

/** PM2's app (env BENCH_ROLE=pm2-echo): a bare grpc-js server answering SendCommand, closing gracefully on reload. */
async function runPm2Echo() {
  const grpc = await import('@grpc/grpc-js');
  const { routerServiceDefinition } = await import('../dist/proto/load.js');
  const server = new grpc.Server();
  server.addService(routerServiceDefinition(), {
    SendCommand: (call, cb) => cb(null, { uuid: call.request.uuid, status: 'SUCCESS', payload: call.request.payload, error: '', worker: `pm2@${process.pid}` }),
  });
  await new Promise((resolve, reject) => server.bindAsync(`127.0.0.1:${process.env.BENCH_PORT}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  // PM2 asks a cluster worker to go with SIGINT (or a 'shutdown' message): finish the calls in flight, then exit.
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    server.tryShutdown(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('message', (m) => m === 'shutdown' && shutdown());
}

/** Runs the load at RATE for loadMs, fires `update()` after updateAtMs; returns the tally, the update's ms, the latencies. */
async function underLoad(send, update, { loadMs, updateAtMs }) {
  const counts = tally();
  const load = openLoop({ call: () => counts.call(send), rate: RATE, durationMs: loadMs });
  await sleep(updateAtMs);
  const started = performance.now();
  const outcome = await update();
  const updateMs = performance.now() - started;
  const result = await load;
  return { ...counts.t, updateMs, outcome, p50: result.p50, p99: result.p99, lateMs: result.lateMs };
}

/** Our side: utils/echo 1.0 under load, ADMIN_UPDATE to 1.1. */
async function measureOurs(opts) {
  const stack = await startStackProcess({ connectorsDir: [join(ROOT, 'connectors')], timeouts: { drain: `${GRACE_MS}ms` } });
  try {
    const started = await stack.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.0', params: { greeting: 'bench' } });
    if (started.status !== 'SUCCESS') throw new Error(`bench rolling: start failed: ${started.error}`);
    const send = () => stack.client.sendCommand({ command: 'ECHO', payload: PAYLOAD, timeout_ms: 10_000 });
    await warmUp(send);
    return await underLoad(send, async () => {
      const reply = await stack.send('ADMIN_UPDATE', { product: 'utils/echo' });
      if (reply.status !== 'SUCCESS' || reply.data.to !== '1.1') throw new Error(`bench rolling: ADMIN_UPDATE ${reply.status}: ${reply.error || JSON.stringify(reply.data)}`);
      return reply.data;
    }, opts);
  } finally {
    await stack.stop();
  }
}

/**
 * The rolling update's latency against steady state: under RATE commands/s, UPDATES updates of utils/echo (1.1, 1.0,
 * 1.1…), each window from ADMIN_UPDATE to its reply against the window of equal length just before it; latencies
 * pooled by the send time of each command; after each update, a window of its length with no update in it against
 * the window before it (`noUpdate`: the measure's own spread on this host). The admin's lifecycle events split each
 * update into phases (where a spike comes from); `profileDir`: a CPU profile of the stack process per update window
 * is written there.
 */
export async function measureUpdateWindows({ updates, rate = RATE, profileDir }) {
  const stack = await startStackProcess({ connectorsDir: [join(ROOT, 'connectors')], timeouts: { drain: `${GRACE_MS}ms` } });
  const phases = [];
  let watch;
  let stop = false; // also in the finally: a failed update must not leave the load sending to a stopped stack
  try {
    const started = await stack.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.0', params: { greeting: 'bench' } });
    if (started.status !== 'SUCCESS') throw new Error(`bench rolling: start failed: ${started.error}`);
    const send = () => stack.client.sendCommand({ command: 'ECHO', payload: PAYLOAD, timeout_ms: 10_000 });
    await warmUp(send);
    watch = stack.admin.watchEvents({ topics: ['admin'], events: [] });
    watch.on('data', (e) => phases.push({ event: e.event, at: performance.now() }));
    watch.on('error', () => undefined);
    const samples = [];
    const counts = tally();
    const load = (async () => {
      const t0 = performance.now();
      let sent = 0;
      const pending = [];
      while (!stop) {
        for (const due = Math.floor(((performance.now() - t0) / 1000) * rate); sent < due; sent += 1) {
          const at = performance.now();
          pending.push(counts.call(send).then(() => samples.push([at, performance.now() - at])));
        }
        await sleep(10);
      }
      await Promise.all(pending);
    })();
    const windows = [];
    const idle = [];
    await sleep(3_000); // steady state before the first window
    for (let i = 0; i < updates; i += 1) {
      const to = i % 2 === 0 ? '1.1' : '1.0';
      const stopProfile = profileDir ? await stack.cpuProfile(join(profileDir, `update-${i}.cpuprofile`)) : undefined;
      const t0 = performance.now();
      const reply = await stack.send('ADMIN_UPDATE', { product: 'utils/echo', version: to });
      const t1 = performance.now();
      await stopProfile?.();
      if (reply.status !== 'SUCCESS' || reply.data.to !== to) throw new Error(`bench rolling: ADMIN_UPDATE to ${to} ${reply.status}: ${reply.error || JSON.stringify(reply.data)}`);
      windows.push([t0, t1]);
      // the next window's steady half must fall after this update's tail (its old worker gone, the new one warm)
      await sleep(Math.max(3_000, 2 * (t1 - t0)));
      // the same pair of windows with no update in it: how far two windows of steady load differ on this host
      const n0 = performance.now();
      await sleep(t1 - t0);
      idle.push([n0, performance.now()]);
      await sleep(3_000);
    }
    stop = true;
    await load;
    const inWindows = (list, shift) => samples.filter(([at]) => list.some(([a, b]) => at >= a - shift * (b - a) && at < b - shift * (b - a))).map(([, l]) => l).sort((x, y) => x - y);
    const during = inWindows(windows, 0);
    const before = inWindows(windows, 1);
    const noUpdate = { during: inWindows(idle, 0), before: inWindows(idle, 1) };
    return { ...counts.t, during, before, windows, noUpdate, phases: phaseLatencies(samples, phases, windows) };
  } finally {
    stop = true;
    watch?.cancel();
    await stack.stop();
  }
}

/** p99 (ms, samples) of the commands sent in each phase of the updates, from the admin's events. */
function phaseLatencies(samples, events, windows) {
  const names = [
    'ADMIN_UPDATE → WORKER_STARTING (versions listed)', '→ WORKER_READY (configuration, package, ExpectWorker, spawn, boot)',
    '→ WORKER_DRAINING (swap)', '→ WORKER_STOPPED (drain, exit)', '→ reply',
  ];
  const marks = ['WORKER_STARTING', 'WORKER_READY', 'WORKER_DRAINING', 'WORKER_STOPPED'];
  const byPhase = names.map(() => []);
  for (const [a, b] of windows) {
    const cuts = [a, ...marks.map((m) => events.find((e) => e.event === m && e.at >= a && e.at <= b)?.at ?? a), b];
    for (const [at, l] of samples) {
      if (at < a || at >= b) continue;
      let k = 0;
      while (k < names.length - 1 && at >= cuts[k + 1]) k += 1;
      byPhase[k].push(l);
    }
  }
  return names.map((name, k) => {
    const sorted = byPhase[k].sort((x, y) => x - y);
    return `${name}: p99 ${sorted.length ? percentile(sorted, 99).toFixed(1) : '-'} ms (${sorted.length})`;
  }).join('; ');
}

/** PM2's side: the bare echo in cluster mode (one instance), `pm2 reload` under the same load. */
async function measurePm2(opts) {
  const grpc = await import('@grpc/grpc-js');
  const { routerClientConstructor } = await import('../dist/proto/load.js');
  const port = await freePort();
  const pm2 = await startPm2();
  const Router = routerClientConstructor();
  const client = new Router(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await pm2.start([{
      name: PM2_APP, script: SELF, cwd: ROOT, exec_mode: 'cluster', instances: 1, kill_timeout: GRACE_MS,
      env: { BENCH_ROLE: 'pm2-echo', BENCH_PORT: String(port) },
    }]);
    const send = () => new Promise((resolve, reject) => {
      client.SendCommand({ uuid: '', command: 'ECHO', payload: PAYLOAD, timeout_ms: 10_000, target: '', major: '', context: {} }, { deadline: Date.now() + 15_000 }, (e, r) => (e ? reject(e) : resolve(r)));
    });
    await waitUntil(() => send().then(() => true, () => false), 20_000, `PM2 echo on port ${port}`);
    await warmUp(send);
    const before = await pm2Pids(pm2);
    const result = await underLoad(send, () => pm2.pm2(['reload', PM2_APP]), opts);
    const after = await pm2Pids(pm2);
    if (after.length === 0 || after.some((pid) => before.includes(pid))) throw new Error(`bench rolling: pm2 reload did not replace the process (${before} → ${after})`);
    return result;
  } finally {
    client.close();
    await pm2.close();
  }
}

// The app's pids from `pm2 jlist`; the CLI's first run in a fresh PM2_HOME prints a banner before the JSON.
async function pm2Pids(pm2) {
  const { stdout } = await pm2.pm2(['jlist']);
  const json = stdout.slice(stdout.search(/^\[/m));
  return JSON.parse(json).filter((p) => p.name === PM2_APP).map((p) => p.pid);
}

async function warmUp(send) {
  for (let i = 0; i < 200; i += 10) await Promise.all(Array.from({ length: 10 }, () => send().catch(() => undefined)));
}

async function waitUntil(check, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`bench rolling: ${what} not ready within ${ms} ms`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const describeRun = (r) => `${r.sent} sent, ${r.success} SUCCESS, ${r.failed} failed, ${r.lost} lost${Object.keys(r.statuses).length ? ` (${JSON.stringify(r.statuses)})` : ''}; served by ${Object.entries(r.workers).map(([w, n]) => `${w} ×${n}`).join(', ')}`;

/** Rows {name, value, unit, baseline, ratio, goal, met}: ours next to PM2's cluster-mode reload under the same load. */
export async function runRollingBench({ quick = false } = {}) {
  const opts = { loadMs: quick ? 5_000 : 10_000, updateAtMs: quick ? 1_000 : 2_000 };
  const windows = await measureUpdateWindows({ updates: quick ? 2 : UPDATES });
  const ours = await measureOurs(opts);
  const pm2 = await measurePm2(opts);
  const badOurs = ours.failed + ours.lost;
  const badPm2 = pm2.failed + pm2.lost;
  const [p99During, p99Before] = [percentile(windows.during, 99), percentile(windows.before, 99)];
  const badWindows = windows.failed + windows.lost;
  const [p99Idle, p99IdleBefore] = [percentile(windows.noUpdate.during, 99), percentile(windows.noUpdate.before, 99)];
  return [
    {
      name: 'rolling update p99 vs steady', value: +p99During.toFixed(2), unit: 'ms', baseline: +p99Before.toFixed(2),
      ratio: +(p99During / p99Before).toFixed(2), goal: 'ratio <= 1.5', error: badWindows > 0 ? `${badWindows} commands failed or lost` : undefined,
      note: `${windows.windows.length} updates at ${RATE}/s, ${windows.during.length} commands in the update windows vs ${windows.before.length} in the equal windows before; `
        + `${describeRun(windows)}; by phase: ${windows.phases}`,
    },
    {
      name: 'rolling update: windows without an update, p99 vs steady', value: +p99Idle.toFixed(2), unit: 'ms', baseline: +p99IdleBefore.toFixed(2),
      ratio: +(p99Idle / p99IdleBefore).toFixed(2), goal: null, met: null,
      note: `the row above's measure with nothing in the window: after each update, once the load is steady again, a window of the update's length `
        + `against the equal window just before it (${windows.noUpdate.during.length} vs ${windows.noUpdate.before.length} commands); how far apart two windows of the same steady load land on this host`,
    },
    {
      name: `rolling update @${RATE}/s: commands failed or lost`, value: badOurs, unit: 'commands', baseline: badPm2, ratio: null,
      goal: 'value == 0', met: badOurs === 0, note: `ours: ${describeRun(ours)} | pm2: ${describeRun(pm2)}`,
    },
    {
      name: 'rolling update: duration (command → done)', value: +(ours.updateMs / 1000).toFixed(2), unit: 's', baseline: +(pm2.updateMs / 1000).toFixed(2),
      ratio: +(pm2.updateMs / ours.updateMs).toFixed(2), goal: null, met: null,
      note: 'ours: ADMIN_UPDATE 1.0 → 1.1 (new READY, old drained and stopped); pm2: the `pm2 reload` CLI call, its own start included',
    },
    {
      name: 'rolling update: p99 latency across the update', value: +ours.p99.toFixed(2), unit: 'ms', baseline: +pm2.p99.toFixed(2),
      ratio: +(pm2.p99 / ours.p99).toFixed(2), goal: null, met: null, note: `p50 ours ${ours.p50.toFixed(2)} ms, pm2 ${pm2.p50.toFixed(2)} ms`,
    },
  ];
}

if (process.env.BENCH_ROLE === 'pm2-echo') {
  await runPm2Echo();
} else if (isMain(import.meta.url)) {
  const started = Date.now();
  const rows = await runRollingBench({ quick: process.argv.includes('--quick') });
  console.table(rows.map(({ note, ...row }) => row));
  for (const row of rows) console.log(`${row.name}: ${row.note}`);
  console.log(`rolling bench: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
