// Profiles the stack process (router + admin + repository) the way BENCHMARKS.md reports it:
//   node bench/lib/profile.mjs dispatch [--instances 1] [--seconds 6]   CPU under ECHO load (64 in flight)
//   node bench/lib/profile.mjs starts [--instances 200]                 CPU while N ADMIN_START_WORKER run at once
//   node bench/lib/profile.mjs heap [--instances 200]                   heap growth from 0 to N instances, by constructor
// CPU profiles (the V8 profiler `node --cpu-prof` uses, started for the measured window only) are summed up as self
// time by package/folder and by function.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedLoop } from './load.mjs';
import { ROOT, isMain } from './paths.mjs';
import { startStackProcess } from './stack.mjs';

/** Where a profile node's code lives: a package, a dist/ folder, node internals, or V8's own buckets. */
export function area(callFrame) {
  const { url, functionName } = callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(no url: builtins, protobufjs codegen)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const ours = /\/dist\/([^/]+)\//.exec(url);
  if (ours) return `dist/${ours[1]}`;
  return url.replace(ROOT, '');
}

/** Self time (ms) by area, by function and by function of dist/ of a .cpuprofile; `(idle)` reported apart. */
export function summarizeCpuProfile(profile, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // A sample stands for the time until the next one (so the profiler's own stop call, sampled last, counts nothing).
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000));
  const areas = new Map();
  const fns = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id);
    if (callFrame.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    total += ms;
    const a = area(callFrame);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const file = callFrame.url ? `${a}/${callFrame.url.split('/').pop()}` : a;
    const fn = `${callFrame.functionName || '(anonymous)'} ${file}:${callFrame.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
  }
  const rank = (m) => [...m].sort((x, y) => y[1] - x[1]).slice(0, top).map(([k, ms]) => ({ what: k, ms: Math.round(ms), pct: +((100 * ms) / total).toFixed(1) }));
  const ours = new Map([...fns].filter(([k]) => / dist\//.test(k)));
  return { busyMs: Math.round(total), idleMs: Math.round(idle), areas: rank(areas), functions: rank(fns), ours: rank(ours) };
}

/** Self size (bytes) and count per constructor name of a .heapsnapshot. */
export function summarizeHeapSnapshot(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]];
    const name = type === 'object' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]] : `(${type})`;
    const entry = out.get(name) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += snap.nodes[i + sizeAt];
    out.set(name, entry);
  }
  return out;
}

/** The number after `--NAME` on the command line, or `fallback`. */
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function startEcho(stack, n, prefix = 'p') {
  const replies = await Promise.all(Array.from({ length: n }, (_, i) =>
    stack.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.1', identifier: `${prefix}-${i}`, params: { greeting: 'hello' } })));
  const failed = replies.filter((r) => r.status !== 'SUCCESS');
  if (failed.length > 0) console.error(`${failed.length} of ${n} starts failed, first: ${failed[0].status} ${failed[0].error}`);
}

async function profileCpu(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-prof-'));
  try {
    const stack = await startStackProcess();
    const path = join(dir, `${mode}.cpuprofile`);
    try {
      const n = arg('instances', mode === 'starts' ? 200 : 1);
      await startEcho(stack, 1, 'warm'); // caches filled before the part that counts
      if (mode === 'starts') {
        const stop = await stack.cpuProfile(path);
        const t = performance.now();
        await startEcho(stack, n);
        console.log(`${n} starts: ${Math.round(performance.now() - t)} ms`);
        await stop();
      } else {
        if (n > 1) await startEcho(stack, n - 1);
        const stop = await stack.cpuProfile(path);
        const payload = JSON.stringify({ text: 'hello', n: 42 });
        const call = async () => (await stack.client.sendCommand({ command: 'ECHO', payload, timeout_ms: 30_000 })).status === 'SUCCESS';
        const r = await closedLoop({ call, concurrency: 64, durationMs: arg('seconds', 6) * 1000 });
        console.log(`load: ${Math.round(r.rate)} cmd/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.failures} failed`);
        await stop();
      }
    } finally {
      await stack.stop();
    }
    const summary = summarizeCpuProfile(JSON.parse(readFileSync(path, 'utf8')));
    console.log(`stack process: busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`);
    console.table(summary.areas);
    console.table(summary.functions);
    console.table(summary.ours);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function profileHeap() {
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-prof-'));
  const stack = await startStackProcess();
  try {
    const n = arg('instances', 200);
    await startEcho(stack, 1, 'warm');
    const before = summarizeHeapSnapshot(await stack.heapSnapshot(join(dir, 'idle.heapsnapshot')));
    const memBefore = await stack.memory();
    await startEcho(stack, n - 1);
    const after = summarizeHeapSnapshot(await stack.heapSnapshot(join(dir, 'n.heapsnapshot')));
    const memAfter = await stack.memory();
    const delta = [...after].map(([name, a]) => ({ name, count: a.count - (before.get(name)?.count ?? 0), kB: Math.round((a.bytes - (before.get(name)?.bytes ?? 0)) / 1024) }));
    delta.sort((x, y) => y.kB - x.kB);
    const MB = (x) => +(x / 2 ** 20).toFixed(1);
    console.log(`rss ${MB(memBefore.rss)} → ${MB(memAfter.rss)} MB, heapUsed ${MB(memBefore.heapUsed)} → ${MB(memAfter.heapUsed)} MB (1 → ${n} instances)`);
    console.table(delta.slice(0, 25).map((d) => ({ ...d, perInstanceBytes: Math.round((d.kB * 1024) / (n - 1)) })));
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const mode = process.argv[2];
  if (mode === 'dispatch' || mode === 'starts') await profileCpu(mode);
  else if (mode === 'heap') await profileHeap();
  else throw new Error('usage: node bench/lib/profile.mjs dispatch|starts|heap [--instances N] [--seconds S]');
}
