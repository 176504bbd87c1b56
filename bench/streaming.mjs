// The streaming client path against bare NATS, and unary SendCommand against its floor, in one run:
// (a) `streaming vs NATS c=N`: connectRouter's `send` (SendCommands streams) through a router to one SDK echo worker,
//     against NATS request-reply through Debian's nats-server to a Node responder in a queue group (JSON parse and
//     stringify of the same payload, as our SDK does on both ends); the requester stringifies and parses too;
// (b) `unary vs relay floor c=N`: connectRouter with `streaming: false` through the same router, against the same
//     client through a check-free grpc-js relay (no auth, replay, schema, timeout or queue) to a bare stream worker;
//     `relay vs the same relay c=N`: the relay measured twice per round, the spread of the paired ratio itself.
// Closed loop with c commands outstanding (c = 1, 16, 256), TCP loopback everywhere, interleaved rounds (NATS,
// streaming, unary, relay, relay again, then the reverse, …), each ratio the median of the per-round ratios, p99
// over all rounds, and the CPU µs per command of every process of each side (/proc/PID/stat; the bench process itself
// is the client on every side).
// Run alone: `node bench/streaming.mjs [--quick]` (needs `npm run build`); without nats-server the NATS rows say why.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnReady } from './lib/children.mjs';
import { describe, interleaved, pairedNote, pairedRatio } from './lib/compare.mjs';
import { ROOT, isMain } from './lib/paths.mjs';
import { round } from './lib/stats.mjs';
import { startRoutedSides } from './router.mjs';

const CONCURRENCY = [1, 16, 256];
const STREAMING_GOALS = { 1: 0.5, 16: 0.6, 256: 1.0 };
const P99_GOAL = 2; // ours ÷ NATS
const FLOOR_GOAL = 0.95;
const PAYLOAD = { text: 'hello', n: 42 };

/** nats-server and the responder, or a reason why not. */
async function startNats(stops) {
  const { findBinary, startNatsServer } = await import('../dist/fleet/engines/local-servers.js');
  if (!(await findBinary('nats-server'))) return { skipped: 'nats-server is not installed (apt-get install -y nats-server)' };
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-nats-'));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const server = await startNatsServer({ dir });
  stops.push(() => server.stop());
  const responder = await spawnReady(process.execPath, [join(ROOT, 'bench', 'lib', 'nats-responder.mjs')], { stopSignal: 'SIGKILL', env: { PATH: process.env.PATH ?? '', BENCH_NATS: server.url } });
  stops.push(() => responder.stop());
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: server.url, noEcho: true });
  stops.push(() => nc.close());
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  // the requester stringifies the payload and parses the reply, as connectRouter's send does
  const call = async () => {
    const msg = await nc.request('bench.echo', encoder.encode(JSON.stringify(PAYLOAD)), { timeout: 30_000 });
    return JSON.parse(decoder.decode(msg.data)).n === 42;
  };
  return { call, pids: [['nats-server', server.pid], ['responder', responder.proc.pid]] };
}

const ms2 = (x) => round(x, 2);

/** Rows {name, value, unit, baseline, ratio, goal, met, note}. */
export async function runStreamingBench({ quick = false } = {}) {
  const ms = quick ? 500 : 1000;
  // 15 rounds: with 7, the unary/relay ratio of a run moved by ±0.05 between runs of the same code (one round's
  // ratio spreads 0.7–1.3 on this kind of shared host), the size of the gap it is there to show
  const rounds = quick ? 3 : 15;
  const stops = [];
  const clients = [];
  try {
    const ours = await startRoutedSides(stops);
    const nats = await startNats(stops);
    if (nats.skipped) process.stderr.write(`bench streaming: NATS rows skipped: ${nats.skipped}\n`);
    const { connectRouter } = await import('../dist/sdk/client.js');
    const client = (address, streaming) => {
      const c = connectRouter({ address, token: ours.adminToken, streaming });
      clients.push(c);
      return async () => (await c.send('ECHO', PAYLOAD)).status === 'SUCCESS';
    };
    const routed = [['router', ours.router], ['worker', ours.worker]];
    const relayed = [['relay', ours.relay.pid], ['relay worker', ours.relay.worker]];
    const sides = [
      ...(nats.skipped ? [] : [{ name: 'nats', call: nats.call, pids: nats.pids }]),
      { name: 'streaming', call: client(ours.address, true), pids: routed },
      { name: 'unary', call: client(ours.address, false), pids: routed },
      { name: 'relay', call: client(ours.relay.address, false), pids: relayed },
      // the relay again, through a second client: the spread of a paired ratio between two sides that are the same
      { name: 'relay again', call: client(ours.relay.address, false), pids: relayed },
    ];
    const rows = [];
    for (const c of CONCURRENCY) {
      const results = Object.fromEntries((await interleaved(sides, c, ms, rounds)).map((r) => [r.name, r]));
      const failed = Object.values(results).filter((r) => r.failures > 0);
      if (failed.length > 0) throw new Error(`bench: commands failed at concurrency ${c}: ${failed.map((r) => `${r.name} ${r.failures}`).join(', ')}`);
      const { streaming, unary, relay, 'relay again': again } = results;
      if (nats.skipped) {
        rows.push({ name: `streaming vs NATS c=${c} throughput`, value: Math.round(streaming.rate), unit: 'cmd/s', baseline: null, ratio: null, goal: null, met: null, note: `NATS skipped: ${nats.skipped}; streaming ${describe(streaming)}` });
      } else {
        const base = results.nats;
        const ratio = pairedRatio(streaming, base);
        rows.push(
          { name: `streaming vs NATS c=${c} throughput`, value: Math.round(streaming.rate), unit: 'cmd/s', baseline: Math.round(base.rate), ratio, goal: STREAMING_GOALS[c], met: ratio >= STREAMING_GOALS[c],
            note: `${pairedNote(streaming, base, rounds, ms)}; streaming ${describe(streaming)}; NATS ${describe(base)}` },
          { name: `streaming vs NATS c=${c} p99`, value: ms2(streaming.p99), unit: 'ms', baseline: ms2(base.p99), ratio: round(streaming.p99 / base.p99), goal: `ratio <= ${P99_GOAL}` },
          { name: `streaming vs NATS c=${c} CPU/command`, value: Math.round(streaming.cpuPerCommand), unit: 'µs', baseline: Math.round(base.cpuPerCommand), ratio: round(streaming.cpuPerCommand / base.cpuPerCommand), goal: null,
            note: `all processes of each side: streaming ${streaming.split}; NATS ${base.split}` },
        );
      }
      const floorRatio = pairedRatio(unary, relay);
      rows.push(
        { name: `unary vs relay floor c=${c} throughput`, value: Math.round(unary.rate), unit: 'cmd/s', baseline: Math.round(relay.rate), ratio: floorRatio, goal: FLOOR_GOAL, met: floorRatio >= FLOOR_GOAL,
          note: `${pairedNote(unary, relay, rounds, ms)}; unary ${describe(unary)}; relay ${describe(relay)}` },
        { name: `unary vs relay floor c=${c} p99`, value: ms2(unary.p99), unit: 'ms', baseline: ms2(relay.p99), ratio: round(unary.p99 / relay.p99), goal: null },
        { name: `relay vs the same relay c=${c} throughput`, value: Math.round(again.rate), unit: 'cmd/s', baseline: Math.round(relay.rate), ratio: pairedRatio(again, relay), goal: null, met: null,
          note: `the same relay and worker measured twice per round (a second client): how far from 1.0 a paired ratio of two equal sides lands; ${pairedNote(again, relay, rounds, ms)}` },
      );
    }
    return rows;
  } finally {
    for (const c of clients) c.close();
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
  }
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  const rows = await runStreamingBench({ quick: process.argv.includes('--quick') });
  console.table(rows.map(({ note, ...r }) => r));
  for (const r of rows) if (r.note) console.log(`${r.name}: ${r.note}`);
  console.log(`streaming bench: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
