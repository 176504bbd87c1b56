// Commands/s and p50/p99 through router → one SDK echo worker, next to a bare grpc-js unary echo, same run (goal ≥ 0.6×).
// Run alone: `node bench/router.mjs [--quick]` (needs `npm run build`). Each side runs in its own process:
// the load generator here, the router and the worker (or the bare echo server) as children, over TCP loopback.
// Also measured, as information: the floor of any two-leg design, a check-free grpc-js relay with a bare stream
// worker. The three sides run in interleaved rounds (bench/lib/compare.mjs: the order reversed every other round, a
// ratio the median of the per-round ratios) so that the host's swings fall on each side alike.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnReady } from './lib/children.mjs';
import { describe, interleaved, pairedNote, pairedRatio } from './lib/compare.mjs';
import { round } from './lib/stats.mjs';

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

/** Spawns a child role (bench/lib/children.mjs) with `env`: resolves with its first JSON line, its process and a stop function. */
const child = (role, env, stdinText = '') => spawnReady(process.execPath, [self, '--role', role], { env, stdinText, stopSignal: 'SIGKILL' });

/**
 * The routed side and its floor, each child in an environment built here: the router with one SDK echo worker
 * (announced, then started the way the admin does, one start line on stdin) and the check-free relay with its bare
 * stream worker. Every child and the router's state directory go onto `stops`. Used by bench/streaming.mjs too.
 */
export async function startRoutedSides(stops) {
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-bench-router-'));
  stops.push(async () => rmSync(stateDir, { recursive: true, force: true }));
  const adminToken = randomBytes(32).toString('hex');
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? stateDir, WORKER_ADMIN_LOG_LEVEL: 'silent' };
  const router = await child('router', { ...env, BENCH_STATE_DIR: stateDir, BENCH_ADMIN_TOKEN: adminToken });
  stops.push(router.stop);
  const address = router.info.address;
  const { createRouterRpc } = await import('../dist/sdk/rpc.js');
  const token = randomBytes(24).toString('hex');
  const rpc = createRouterRpc({ address, token: adminToken });
  await rpc.expectWorker({ identifier: 'bench-echo', version: '1.0', type: 'bench', product: 'echo', token_sha256: createHash('sha256').update(token).digest('hex'), commands: ['ECHO'] });
  rpc.close();
  const line = JSON.stringify({ identifier: 'bench-echo', target: address, token, type: 'bench', product: 'echo', version: '1.0', config: {} });
  const worker = await child('worker', env, `${line}\n`);
  stops.push(worker.stop);
  const relay = await child('relay', env);
  stops.push(relay.stop);
  const relayWorker = await child('relay-worker', { ...env, BENCH_RELAY_ADDRESS: relay.info.address });
  stops.push(relayWorker.stop);
  return { env, address, adminToken, router: router.proc.pid, worker: worker.proc.pid, relay: { address: relay.info.address, pid: relay.proc.pid, worker: relayWorker.proc.pid } };
}

/** A side's call: one SendCommand through a raw grpc-js client (no SDK), true when it came back SUCCESS. */
async function unaryCall(grpc, address, token, stops) {
  const { routerClientConstructor } = await import('../dist/proto/load.js');
  const Router = routerClientConstructor();
  const client = new Router(address, grpc.credentials.createInsecure(), GRPC_OPTIONS);
  stops.push(async () => client.close());
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return () =>
    new Promise((resolve) => {
      const request = { uuid: '', command: 'ECHO', payload: PAYLOAD, timeout_ms: 0, target: '', major: '', context: {} };
      client.SendCommand(request, metadata, { deadline: Date.now() + 30_000 }, (error, reply) => resolve(!error && reply.status === 'SUCCESS'));
    });
}

/** Rows {name, value, unit, baseline, ratio, goal, met}; throughput ratio = router / bare (higher is better). */
export async function runRouterBench({ quick = false } = {}) {
  const grpc = await import('@grpc/grpc-js');
  const ms = quick ? 300 : 1000;
  const rounds = quick ? 3 : 7;
  const stops = [];
  try {
    const ours = await startRoutedSides(stops);
    const bare = await child('echo-server', ours.env);
    stops.push(bare.stop);

    const sides = [
      { name: 'bare', call: await unaryCall(grpc, bare.info.address, '', stops), pids: [['echo server', bare.proc.pid]] },
      { name: 'router', call: await unaryCall(grpc, ours.address, ours.adminToken, stops), pids: [['router', ours.router], ['worker', ours.worker]] },
      { name: 'relay', call: await unaryCall(grpc, ours.relay.address, '', stops), pids: [['relay', ours.relay.pid], ['relay worker', ours.relay.worker]] },
    ];
    const rows = [];
    for (const c of CONCURRENCY) {
      const [base, ours, floor] = await interleaved(sides, c, ms, rounds);
      if (ours.failures > 0 || base.failures > 0 || floor.failures > 0) throw new Error(`bench: ${ours.failures} router / ${base.failures} bare / ${floor.failures} relay calls failed at concurrency ${c}`);
      const ratio = pairedRatio(ours, base);
      const [routerCpu, bareCpu] = [ours.perProcess.get('router') / ours.count, base.perProcess.get('echo server') / base.count];
      rows.push(
        { name: `router c=${c} throughput`, value: Math.round(ours.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio, goal: GOAL, met: ratio >= GOAL,
          note: `${pairedNote(ours, base, rounds, ms)}; router ${describe(ours)}; bare ${describe(base)}` },
        { name: `router c=${c} p50`, value: round(ours.p50, 2), unit: 'ms', baseline: round(base.p50, 2), ratio: round(base.p50 / ours.p50), goal: null, met: null },
        { name: `router c=${c} p99`, value: round(ours.p99, 2), unit: 'ms', baseline: round(base.p99, 2), ratio: round(base.p99 / ours.p99), goal: null, met: null },
        // The router does two gRPC legs per command (unary + stream both ways): about 2× the bare server's CPU is par.
        { name: `router c=${c} server CPU/command`, value: Math.round(routerCpu), unit: 'µs', baseline: Math.round(bareCpu), ratio: round(bareCpu / routerCpu), goal: null, met: null },
        // What two gRPC legs cost by themselves: a check-free grpc-js relay and a bare stream worker, same load.
        { name: `relay floor c=${c} throughput (bare grpc-js relay, no checks)`, value: Math.round(floor.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio: pairedRatio(floor, base), goal: null, met: null,
          note: `router / relay floor: ${pairedRatio(ours, floor)}; relay ${describe(floor)}` },
      );
    }
    return rows;
  } finally {
    for (const stop of stops.reverse()) await stop();
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

