// Commands/s and p50/p99 through router → one SDK echo worker, next to a bare grpc-js unary echo, same run (goal ≥ 0.6×).
// Run alone: `node bench/router.mjs [--quick]` (needs `npm run build`). Each side runs in its own process:
// the load generator here, the router and the worker (or the bare echo server) as children, over TCP loopback.
// Also measured, as information: the floor of any two-leg design, a check-free grpc-js relay with a bare stream
// worker. The three sides run in interleaved rounds so that a burst of other work falls on each about equally.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);

const CONCURRENCY = [1, 16, 256];
const GOAL = 0.6;
const PAYLOAD = JSON.stringify({ text: 'hello', n: 42 });

/** Child roles: `--role router|worker|echo-server`; each prints one JSON line when ready. */
// The router and the SDK run gRPC without channelz (its per-call and per-message bookkeeping serves an introspection
// service nobody here offers); the bare sides get the same transport settings, so that they stay the floor.
const GRPC_OPTIONS = { 'grpc.enable_channelz': 0 };

async function runRole(role) {
  process.env.WORKER_ADMIN_LOG_LEVEL ??= 'silent';
  // CPU time on request: a contention-proof cost per command, next to the wall-clock rates.
  process.on('message', () => process.send?.(process.cpuUsage()));
  const grpc = await import('@grpc/grpc-js');
  if (role === 'router') {
    const { startRouter } = await import('../dist/router/server.js');
    const [stateDir, adminToken] = [process.env.BENCH_STATE_DIR, process.env.BENCH_ADMIN_TOKEN];
    const router = await startRouter({ listen: '127.0.0.1:0', stateDir, adminToken });
    process.stdout.write(`${JSON.stringify({ address: router.address })}\n`);
  } else if (role === 'worker') {
    const { startWorker } = await import('../dist/sdk/index.js');
    await startWorker({ commands: { ECHO: async (payload) => payload } });
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  } else if (role === 'relay') {
    // The floor of any router in this design: a grpc-js relay with no checks at all (no auth, no uuid replay,
    // no schema, no timeout, no queue) forwarding each SendCommand on one worker stream and the reply back.
    const { routerServiceDefinition } = await import('../dist/proto/load.js');
    const server = new grpc.Server(GRPC_OPTIONS);
    const waiting = new Map();
    let worker;
    let seq = 0;
    server.addService(routerServiceDefinition(), {
      SendCommand: (call, cb) => {
        const uuid = String((seq += 1));
        waiting.set(uuid, cb);
        worker.write({ command: { uuid, command: call.request.command, payload: call.request.payload } });
      },
      Connect: (call) => {
        worker = call;
        call.on('data', (m) => {
          if (!m.reply) return;
          const cb = waiting.get(m.reply.uuid);
          waiting.delete(m.reply.uuid);
          cb?.(null, { uuid: m.reply.uuid, status: 'SUCCESS', payload: m.reply.payload, error: '', worker: 'relay-worker' });
        });
      },
    });
    const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    process.stdout.write(`${JSON.stringify({ address: `127.0.0.1:${port}` })}\n`);
  } else if (role === 'relay-worker') {
    // A bare grpc-js stream client answering each command with its payload (no SDK).
    const { routerClientConstructor } = await import('../dist/proto/load.js');
    const Router = routerClientConstructor();
    const client = new Router(process.env.BENCH_RELAY_ADDRESS, grpc.credentials.createInsecure(), GRPC_OPTIONS);
    const call = client.Connect();
    call.on('data', (m) => {
      if (m.command) call.write({ reply: { uuid: m.command.uuid, status: 'SUCCESS', payload: m.command.payload, error: '', worker: '' } });
    });
    call.on('error', () => process.exit(1));
    call.write({ heartbeat: { timestamp_ms: Date.now() } }); // opens the stream: the relay knows its worker
    await new Promise((r) => setTimeout(r, 200));
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  } else if (role === 'echo-server') {
    const { routerServiceDefinition } = await import('../dist/proto/load.js');
    const server = new grpc.Server(GRPC_OPTIONS);
    // The same service and messages as the router: SendCommand answers at once with the payload.
    server.addService(routerServiceDefinition(), {
      SendCommand: (call, cb) => cb(null, { uuid: call.request.uuid, status: 'SUCCESS', payload: call.request.payload, error: '', worker: 'bare@1.0' }),
    });
    const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    process.stdout.write(`${JSON.stringify({ address: `127.0.0.1:${port}` })}\n`);
  }
}

/** Spawns a child role; resolves with its first JSON line and a stop function. */
function child(role, env = {}, stdinLine) {
  const proc = spawn(process.execPath, [self, '--role', role], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit', 'ipc'] });
  proc.channel?.unref();
  if (stdinLine) proc.stdin.end(`${stdinLine}\n`);
  else proc.stdin.end();
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ info: JSON.parse(out.slice(0, nl)), stop: () => stopChild(proc), cpu: () => cpuOf(proc) });
    });
    proc.on('exit', (code) => reject(new Error(`bench child ${role} exited ${code}`)));
  });
}

/** CPU microseconds (user + system) the child used so far. */
function cpuOf(proc) {
  return new Promise((resolve) => {
    proc.once('message', (u) => resolve(u.user + u.system));
    proc.send('cpu');
  });
}

function stopChild(proc) {
  if (proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', resolve);
    proc.kill('SIGKILL');
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** Keeps `concurrency` SendCommand calls in flight for `ms`; returns commands/s and latency percentiles (ms). */
async function load(grpc, client, metadata, concurrency, ms) {
  const latencies = [];
  let failures = 0;
  const until = performance.now() + ms;
  const one = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const request = { uuid: '', command: 'ECHO', payload: PAYLOAD, timeout_ms: 0, target: '', major: '', context: {} };
      client.SendCommand(request, metadata, { deadline: Date.now() + 30_000 }, (error, reply) => {
        if (error || reply.status !== 'SUCCESS') failures += 1;
        latencies.push(performance.now() - started);
        resolve();
      });
    });
  const loop = async () => {
    while (performance.now() < until) await one();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { latencies, elapsed: performance.now() - started, failures };
}

/** One side of the comparison (bare, router, relay): a client kept open across rounds, warmed up once. */
async function openSide(grpc, address, token, concurrency, ms, server) {
  const { routerClientConstructor } = await import('../dist/proto/load.js');
  const Router = routerClientConstructor();
  const client = new Router(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  await load(grpc, client, metadata, concurrency, Math.min(500, ms / 3)); // warm-up: JIT, connections
  const latencies = [];
  let elapsed = 0;
  let failures = 0;
  let cpu = 0;
  return {
    /** Runs the load for `slice` ms and adds it to this side's totals. */
    async round(slice) {
      const cpuBefore = await server.cpu();
      const r = await load(grpc, client, metadata, concurrency, slice);
      cpu += (await server.cpu()) - cpuBefore;
      for (const l of r.latencies) latencies.push(l);
      elapsed += r.elapsed;
      failures += r.failures;
    },
    result() {
      client.close();
      latencies.sort((a, b) => a - b);
      const count = latencies.length;
      return { rate: count / (elapsed / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), count, failures, cpuPerCommand: cpu / count };
    },
  };
}

/**
 * Measures every side for `ms` in all, in interleaved rounds (bare, router, relay, bare, …): a burst of other work on
 * this 2-core machine then hits each side about as much, instead of falling on whichever ran at that moment.
 */
async function measureInterleaved(grpc, sides, concurrency, ms, rounds) {
  const open = [];
  for (const s of sides) open.push(await openSide(grpc, s.address, s.token, concurrency, ms, s.server));
  for (let r = 0; r < rounds; r += 1) for (const side of open) await side.round(ms / rounds);
  return open.map((side) => side.result());
}

/** Rows {name, value, unit, baseline, ratio, goal, met}; throughput ratio = router / bare (higher is better). */
export async function runRouterBench({ quick = false } = {}) {
  const grpc = await import('@grpc/grpc-js');
  const ms = quick ? 1000 : 3000;
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-bench-router-'));
  const adminToken = randomBytes(32).toString('hex');
  const stops = [];
  try {
    const router = await child('router', { BENCH_STATE_DIR: stateDir, BENCH_ADMIN_TOKEN: adminToken });
    stops.push(router.stop);
    const address = router.info.address;
    // Announce the worker, then start it the way the admin does: one start line on stdin.
    const { createRouterRpc } = await import('../dist/sdk/rpc.js');
    const token = randomBytes(24).toString('hex');
    const rpc = createRouterRpc({ address, token: adminToken });
    await rpc.expectWorker({ identifier: 'bench-echo', version: '1.0', type: 'bench', product: 'echo', token_sha256: createHash('sha256').update(token).digest('hex'), commands: ['ECHO'] });
    rpc.close();
    const line = JSON.stringify({ identifier: 'bench-echo', target: address, token, type: 'bench', product: 'echo', version: '1.0', config: {} });
    const worker = await child('worker', {}, line);
    stops.push(worker.stop);
    const bare = await child('echo-server');
    stops.push(bare.stop);
    const relay = await child('relay');
    stops.push(relay.stop);
    const relayWorker = await child('relay-worker', { BENCH_RELAY_ADDRESS: relay.info.address });
    stops.push(relayWorker.stop);

    const rows = [];
    for (const c of CONCURRENCY) {
      const [base, ours, floor] = await measureInterleaved(grpc, [
        { address: bare.info.address, server: bare },
        { address, token: adminToken, server: router },
        { address: relay.info.address, server: relay },
      ], c, ms, quick ? 2 : 6);
      if (ours.failures > 0 || base.failures > 0 || floor.failures > 0) throw new Error(`bench: ${ours.failures} router / ${base.failures} bare / ${floor.failures} relay calls failed at concurrency ${c}`);
      const ratio = +(ours.rate / base.rate).toFixed(2);
      rows.push(
        { name: `router c=${c} throughput`, value: Math.round(ours.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio, goal: GOAL, met: ratio >= GOAL },
        { name: `router c=${c} p50`, value: +ours.p50.toFixed(2), unit: 'ms', baseline: +base.p50.toFixed(2), ratio: +(base.p50 / ours.p50).toFixed(2), goal: null, met: null },
        { name: `router c=${c} p99`, value: +ours.p99.toFixed(2), unit: 'ms', baseline: +base.p99.toFixed(2), ratio: +(base.p99 / ours.p99).toFixed(2), goal: null, met: null },
        // The router does two gRPC legs per command (unary + stream both ways): about 2× the bare server's CPU is par.
        { name: `router c=${c} server CPU/command`, value: Math.round(ours.cpuPerCommand), unit: 'µs', baseline: Math.round(base.cpuPerCommand), ratio: +(base.cpuPerCommand / ours.cpuPerCommand).toFixed(2), goal: null, met: null },
        // What two gRPC legs cost by themselves: a check-free grpc-js relay and a bare stream worker, same load.
        { name: `relay floor c=${c} throughput (bare grpc-js relay, no checks)`, value: Math.round(floor.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio: +(floor.rate / base.rate).toFixed(2), goal: null, met: null,
          note: `router / relay floor: ${(ours.rate / floor.rate).toFixed(2)}; relay p50 ${floor.p50.toFixed(2)} ms, p99 ${floor.p99.toFixed(2)} ms, relay CPU/command ${Math.round(floor.cpuPerCommand)} µs` },
      );
    }
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const roleIndex = process.argv.indexOf('--role');
if (roleIndex >= 0) {
  await runRole(process.argv[roleIndex + 1]);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const rows = await runRouterBench({ quick: process.argv.includes('--quick') });
  console.table(rows);
  console.log(`router bench: ${((Date.now() - started) / 1000).toFixed(1)} s; ratio = router / bare grpc-js unary echo (latency rows: bare / router)`);
}

