// Fleet figures, each against its baseline in the same run (interleaved rounds, each ratio the median of the per-round ratios):
// (a) ECHO from a client on host-a to the only worker, on host-b (two routers over NATS), against bare NATS
//     request-reply (a Node requester here, a Node responder child in a queue group doing JSON parse/stringify of
//     the same payload) through the same nats-server, at concurrency 1, 16 and 256; the client is connectRouter's
//     streaming `send` (SendCommands) as in bench/streaming.mjs, with the unary client (SendCommand) as a second row;
//     CPU µs per command of every process of each side in the notes;
// (b) ECHO served on the receiving host in fleet mode with client-supplied uuids (so claimed in etcd) against the same
//     host without a fleet section (uuids too, its own replay cache only).
// Run alone: `node bench/fleet.mjs [--quick]` (needs `npm run build`); skipped with the reason without nats-server/etcd.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnReady } from './lib/children.mjs';
import { describe, interleaved, pairedNote, pairedRatio } from './lib/compare.mjs';
import { startPlainHost, warmEcho } from './lib/hosts.mjs';
import { ROOT, isMain } from './lib/paths.mjs';
import { recordedPids } from './lib/stack.mjs';

const CONCURRENCY = [1, 16, 256];
const LOCAL_CONCURRENCY = 16;
const CROSS_GOAL = 0.35; // at 16 and 256 (at 1 the extra hops are latency, reported)
const LOCAL_GOAL = 0.8;
const PAYLOAD = { text: 'hello', n: 42 };
const PAYLOAD_TEXT = JSON.stringify(PAYLOAD);
const ECHO = [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' } }];

/** Rows {name, value, unit, baseline, ratio, goal, met, note}. */
export async function runFleetBench({ quick = false } = {}) {
  const { findBinary, startNatsServer, startEtcd } = await import('../dist/fleet/engines/local-servers.js');
  const missing = [!(await findBinary('nats-server')) && 'nats-server', !(await findBinary('etcd')) && 'etcd-server'].filter(Boolean);
  if (missing.length > 0) {
    const note = `skipped: ${missing.join(' and ')} not installed (apt-get install -y ${missing.join(' ')})`;
    process.stderr.write(`bench fleet ${note}\n`);
    return [{ name: 'fleet cross-host vs NATS', value: null, goal: null, note }, { name: 'fleet local traffic with uuids vs single host', value: null, goal: null, note }];
  }
  const { startLocalFleet } = await import('../dist/fleet/demo/local-fleet.js');
  const { packRepository } = await import('../dist/packages/pack/pack.js');
  const { createRouterRpc } = await import('../dist/sdk/rpc.js');
  const { connectRouter } = await import('../dist/sdk/client.js');
  const { connect } = await import('@nats-io/transport-node');
  const ms = quick ? 500 : 1000;
  const rounds = quick ? 3 : 7;
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'wa-bench-fleet-'));
  const stops = [];
  const rpcs = [];
  try {
    const repositoryDir = join(dir, 'repository');
    await packRepository({ src: join(ROOT, 'connectors'), out: repositoryDir });
    const nats = await startNatsServer({ dir: join(dir, 'nats') });
    stops.push(() => nats.stop());
    const etcd = await startEtcd({ dir: join(dir, 'etcd') });
    stops.push(() => etcd.stop());
    const tokens = { admin: randomBytes(24).toString('hex'), client: randomBytes(24).toString('hex') };
    const fleet = await startLocalFleet({
      dir, repositoryDir, tokens, engines: { nats, etcd }, leaseTtl: '10s', reassignAfter: '60s', env: { WORKER_ADMIN_LOG_LEVEL: 'warn' },
      hosts: [{ name: 'host-a' }, { name: 'host-b', connectors: ECHO }],
    });
    stops.push(() => fleet.close());
    const plain = await startPlainHost({ stateDir: join(dir, 'plain'), tokens, connectorsDir: join(ROOT, 'connectors'), connectors: ECHO });
    stops.push(plain.stop);
    const rpc = (address) => {
      const r = createRouterRpc({ address, token: tokens.client });
      rpcs.push(r);
      return r;
    };
    const [hostA, hostB] = [fleet.host('host-a'), fleet.host('host-b')];
    const onA = rpc(hostA.router);
    const onB = rpc(hostB.router);
    const onPlain = rpc(plain.router);
    await warmEcho(onA, 'host-a (worker on host-b)', PAYLOAD_TEXT);
    await warmEcho(onB, 'host-b', PAYLOAD_TEXT);
    await warmEcho(onPlain, 'the host without a fleet', PAYLOAD_TEXT);
    const bare = await spawnReady(process.execPath, [join(ROOT, 'bench', 'lib', 'nats-responder.mjs')], { stopSignal: 'SIGKILL', env: { PATH: process.env.PATH ?? '', BENCH_NATS: nats.url } });
    stops.push(() => bare.stop());
    const nc = await connect({ servers: nats.url, noEcho: true });
    stops.push(() => nc.close());
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    // the requester stringifies the payload and parses the reply, as connectRouter's send does
    const natsCall = async () => {
      const msg = await nc.request('bench.echo', encoder.encode(JSON.stringify(PAYLOAD)), { timeout: 30_000 });
      return JSON.parse(decoder.decode(msg.data)).n === 42;
    };
    const streaming = connectRouter({ address: hostA.router, token: tokens.client });
    stops.push(async () => streaming.close());
    const streamCall = async () => (await streaming.send('ECHO', PAYLOAD, { timeout: 30_000 })).status === 'SUCCESS';
    const echo = (client, uuid) => async () => {
      const reply = await client.sendCommand({ command: 'ECHO', payload: PAYLOAD_TEXT, timeout_ms: 30_000, ...(uuid ? { uuid: randomUUID() } : {}) });
      return reply.status === 'SUCCESS';
    };
    const [workerB] = recordedPids(hostB.stateDir);
    const [workerPlain] = recordedPids(plain.stateDir);
    const crossPids = [['host-a', hostA.pid], ['nats-server', nats.pid], ['host-b', hostB.pid], ['worker', workerB], ['etcd', etcd.pid]];
    const sides = [
      { name: 'nats', call: natsCall, pids: [['nats-server', nats.pid], ['responder', bare.proc.pid]] },
      { name: 'streaming', call: streamCall, pids: crossPids },
      { name: 'unary', call: echo(onA, false), pids: crossPids },
    ];
    const path = 'client → host-a\'s router → NATS → host-b\'s router → utils-echo-1 and back vs a Node NATS requester → a Node responder (queue group, JSON parse/stringify), same payload, TCP loopback for NATS';
    const rows = [];
    for (const c of CONCURRENCY) {
      const results = Object.fromEntries((await interleaved(sides, c, ms, rounds)).map((r) => [r.name, r]));
      const failed = Object.values(results).filter((r) => r.failures > 0);
      if (failed.length > 0) throw new Error(`bench: calls failed at concurrency ${c}: ${failed.map((r) => `${r.name} ${r.failures}`).join(', ')}`);
      const { nats: base, streaming: ours, unary } = results;
      const ratio = pairedRatio(ours, base);
      const goal = c > 1 ? CROSS_GOAL : null;
      rows.push(
        {
          name: `fleet cross-host vs NATS c=${c} throughput`, value: Math.round(ours.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio, goal, met: goal === null ? null : ratio >= goal,
          note: `streaming client (SendCommands); ${path}; ${pairedNote(ours, base, rounds, ms)}; cross-host ${describe(ours)}; NATS ${describe(base)}`,
        },
        {
          name: `fleet cross-host unary vs NATS c=${c} throughput`, value: Math.round(unary.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio: pairedRatio(unary, base), goal: null, met: null,
          note: `unary client (SendCommand), same path and rounds; ${describe(unary)}`,
        },
      );
    }
    const local = [
      { name: 'single', call: echo(onPlain, true), pids: [['host', plain.pid], ['worker', workerPlain]] },
      { name: 'fleet', call: echo(onB, true), pids: [['host-b', hostB.pid], ['worker', workerB], ['etcd', etcd.pid]] },
    ];
    const [single, fleetLocal] = await interleaved(local, LOCAL_CONCURRENCY, ms, rounds);
    if (single.failures > 0 || fleetLocal.failures > 0) throw new Error(`bench: ${fleetLocal.failures} fleet / ${single.failures} single-host calls failed`);
    const ratio = pairedRatio(fleetLocal, single);
    rows.push({
      name: `fleet local traffic with uuids vs single host c=${LOCAL_CONCURRENCY} throughput`, value: Math.round(fleetLocal.rate), unit: 'cmd/s', baseline: Math.round(single.rate), ratio, goal: LOCAL_GOAL, met: ratio >= LOCAL_GOAL,
      note: `ECHO with a client uuid (unary) served on the receiving host: fleet host-b (uuid claimed in etcd, reply recorded) vs the same config without fleet:; ${pairedNote(fleetLocal, single, rounds, ms)}; fleet ${describe(fleetLocal)}; single host ${describe(single)}`,
    });
    return rows;
  } finally {
    for (const r of rpcs) r.close();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  const rows = await runFleetBench({ quick: process.argv.includes('--quick') });
  console.table(rows.map(({ note, ...r }) => r));
  for (const r of rows) if (r.note) console.log(`${r.name}: ${r.note}`);
  console.log(`fleet bench: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
