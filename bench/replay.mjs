// Memory of the replay window: the router's uuid cache filled with 100k answered commands of a small payload, heap
// (plus array buffers) after a forced GC against the same cache empty; bytes per remembered reply beyond its payload.
// Baseline, same run: the layout the cache had before (a Map of {fingerprint, reply object, at, bytes} per uuid).
// Run alone: `node bench/replay.mjs [--quick]` (needs `npm run build`). Each measure runs in a child with --expose-gc.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isMain } from './lib/paths.mjs';
import { round } from './lib/stats.mjs';

const SELF = fileURLToPath(import.meta.url);
const PAYLOAD = JSON.stringify({ text: 'hello', n: 42 });
const GOAL_BYTES = 250;

/** The cache layout before it went compact: one object per answer holding the Reply object. */
class ObjectPerAnswer {
  answered = new Map();
  begin(uuid, fingerprint) {
    this.pending = { uuid, fingerprint };
  }
  finish(uuid, reply) {
    this.answered.set(uuid, { fingerprint: this.pending.fingerprint, reply, at: Date.now(), bytes: reply.payload.length + 200 });
  }
}

/** In the child: heap + array buffers after GC, empty then holding `n` answers; prints JSON. */
async function measureChild(layout, n) {
  const { UuidCache, commandFingerprint } = await import('../dist/router/uuid-cache.js');
  const used = () => {
    globalThis.gc();
    globalThis.gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const cache = layout === 'compact' ? new UuidCache({ windowMs: 3_600_000, maxEntries: 10 * n, maxBytes: 1e12 }) : new ObjectPerAnswer();
  const empty = used();
  for (let i = 0; i < n; i += 1) {
    // as in the router: a uuid it made (randomUUID), the payload a fresh string as decoded from the worker's reply
    const uuid = randomUUID();
    cache.begin(uuid, commandFingerprint('ECHO', PAYLOAD), { reply: Promise.resolve(null) });
    cache.finish(uuid, { uuid, status: 'SUCCESS', payload: Buffer.from(PAYLOAD).toString(), error: '', worker: 'echo-1@1.0' });
  }
  const full = used();
  process.stdout.write(`${JSON.stringify({ perReply: (full - empty) / n, held: cache.size?.answered ?? cache.answered.size })}\n`);
}

function measure(layout, n) {
  const out = execFileSync(process.execPath, ['--expose-gc', SELF], { env: { ...process.env, BENCH_ROLE: 'replay-child', BENCH_REPLAY: JSON.stringify({ layout, n }) }, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').at(-1));
  if (result.held !== n) throw new Error(`bench replay: ${layout} held ${result.held} answers, not ${n}`);
  return result.perReply;
}

/** One row: bytes per remembered reply beyond its payload, ours (compact) against the object-per-answer layout. */
export async function runReplayBench({ quick = false } = {}) {
  const n = quick ? 20_000 : 100_000;
  const payloadBytes = Buffer.byteLength(PAYLOAD);
  const compact = measure('compact', n) - payloadBytes;
  const objects = measure('objects', n) - payloadBytes;
  return [{
    name: 'replay window: heap per remembered reply beyond its payload', value: round(compact, 0), unit: 'B', baseline: round(objects, 0),
    ratio: round(objects / compact), goal: `value <= ${GOAL_BYTES}`,
    note: `${n} answers of a ${payloadBytes}-byte payload, heapUsed + arrayBuffers after gc() vs the empty cache; baseline: a Map of one {fingerprint, Reply, at} object per uuid (the layout before)`,
  }];
}

if (process.env.BENCH_ROLE === 'replay-child') {
  const { layout, n } = JSON.parse(process.env.BENCH_REPLAY);
  await measureChild(layout, n);
} else if (isMain(import.meta.url)) {
  const rows = await runReplayBench({ quick: process.argv.includes('--quick') });
  console.table(rows.map(({ note, ...row }) => row));
  for (const row of rows) console.log(`${row.name}: ${row.note}`);
}
