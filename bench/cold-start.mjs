// Cold start: ADMIN_START_WORKER → READY with a cached package, next to `node worker.mjs` started by hand until its
// Welcome (goal ≤ 1.3×); and a start that first downloads a 5 MB package from the stack's local repository server.
// Run alone: `node bench/cold-start.mjs [--quick]` (needs `npm run build`).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBigSource } from './lib/big-package.mjs';
import { announceWorker, startByHand } from './lib/by-hand.mjs';
import { ROOT, isMain } from './lib/paths.mjs';
import { startStackProcess } from './lib/stack.mjs';
import { round, summary } from './lib/stats.mjs';
import { textTable } from './lib/table.mjs';
import { finishRow } from './lib/rows.mjs';

const ECHO = { type: 'utils', product: 'echo', version: '1.1' };
const MAIL = { type: 'mail', product: 'smtp', version: '1.0' };
const MAIL_CONFIG = { host: 'localhost', port: 25, starttls: false, username: '', password: '', from: 'worker-admin@localhost' };
const ECHO_CONFIG = { greeting: 'hello', api_key: 'not-a-real-key', log_level: 'warn', max_sleep_ms: 60000, flavor: 'modern' };

/** Starts one instance through the admin; resolves with the milliseconds to its SUCCESS reply (READY). */
async function adminStart(stack, payload) {
  const started = performance.now();
  const reply = await stack.send('ADMIN_START_WORKER', payload);
  const ms = performance.now() - started;
  if (reply.status !== 'SUCCESS') throw new Error(`ADMIN_START_WORKER ${payload.identifier}: ${reply.status} ${reply.error}`);
  return ms;
}

async function adminStop(stack, identifier) {
  const reply = await stack.send('ADMIN_STOP_WORKER', { identifier });
  if (reply.status !== 'SUCCESS') throw new Error(`ADMIN_STOP_WORKER ${identifier}: ${reply.status} ${reply.error}`);
}

// Forgets the cached zip and unpacked folder of a version, so the next start downloads it again.
function dropCache(stateDir, { type, product, version }) {
  const [major, minor] = version.split('.');
  rmSync(join(stateDir, 'workers', type, product, version), { recursive: true, force: true });
  rmSync(join(stateDir, 'workers', type, product, `${version}.json`), { force: true });
  rmSync(join(stateDir, 'packages', type, product, `${major}_${minor}_worker.zip`), { force: true });
}

/**
 * The Python SDK's cold start (connectors/mail/smtp, a worker.py package): ADMIN_START_WORKER → READY against
 * `python3 -B worker.py` started by hand in the same unpacked folder with the same interpreter, interleaved.
 */
async function pythonColdStart(stack, runs) {
  const name = 'cold start, Python worker (mail/smtp): ADMIN_START_WORKER → READY vs python3 worker.py → Welcome';
  const { probePython } = await import(new URL('../dist/admin/python-runtime.js', import.meta.url).href);
  const python = (await probePython()).found;
  if (!python) return finishRow({ name, value: null, unit: 'ms', goal: null, note: 'skipped: no python3 with grpcio (apt-get install python3-grpcio python3-protobuf)' });
  await adminStart(stack, { product: 'mail/smtp', version: MAIL.version, identifier: 'pycold-prime' });
  await adminStop(stack, 'pycold-prime');
  const dir = join(stack.stateDir, 'workers', 'mail', 'smtp', MAIL.version);
  const ours = [];
  const hand = [];
  for (let i = 0; i < runs; i += 1) {
    ours.push(await adminStart(stack, { product: 'mail/smtp', version: MAIL.version, identifier: `pycold-${i}` }));
    await adminStop(stack, `pycold-${i}`);
    const identifier = `pyhand-${i}`;
    const line = await announceWorker(stack.admin, { ...MAIL, identifier, target: stack.address, commands: ['SEND_MAIL'], config: MAIL_CONFIG });
    const worker = await startByHand({ dir, command: python, args: ['-B'], entry: 'worker.py', identifier, target: stack.address, line });
    hand.push(worker.ms);
    await worker.stop();
  }
  const a = summary(ours);
  const h = summary(hand);
  return finishRow({
    name, value: round(a.median, 0), unit: 'ms', baseline: round(h.median, 0), ratio: round(a.median / h.median), goal: 'ratio <= 1.3',
    note: `ours median of ${a.n}, min ${round(a.min, 0)} max ${round(a.max, 0)} ms; by hand (${python}) median of ${h.n}, min ${round(h.min, 0)} max ${round(h.max, 0)} ms`,
  });
}

/** Rows {name, value, unit, baseline, ratio, goal, met}; ratio = ours / baseline (lower is better). */
export async function runColdStartBench({ quick = false } = {}) {
  const runs = quick ? 3 : 10;
  const downloads = quick ? 1 : 3;
  const src = mkdtempSync(join(tmpdir(), 'wa-bench-src-'));
  let stack;
  try {
    const big = await writeBigSource(src);
    stack = await startStackProcess({ connectorsDir: [join(ROOT, 'connectors'), src] });
    const zipBytes = statSync(join(stack.stateDir, 'repository', 'bench', 'big', '1_0_worker.zip')).size;

    // Warm-up (not timed): the first start fetches the configuration and the package, later ones use the caches.
    await adminStart(stack, { product: 'utils/echo', version: ECHO.version, identifier: 'cold-prime', params: { greeting: 'hello' } });
    await adminStop(stack, 'cold-prime');
    const dir = join(stack.stateDir, 'workers', 'utils', 'echo', ECHO.version);

    // Interleaved, so both sides see the same machine load.
    const ours = [];
    const hand = [];
    for (let i = 0; i < runs; i += 1) {
      ours.push(await adminStart(stack, { product: 'utils/echo', version: ECHO.version, identifier: `cold-${i}`, params: { greeting: 'hello' } }));
      await adminStop(stack, `cold-${i}`);
      const identifier = `hand-${i}`;
      const line = await announceWorker(stack.admin, { ...ECHO, identifier, target: stack.address, commands: ['ECHO', 'SLOW'], config: ECHO_CONFIG });
      const worker = await startByHand({ dir, identifier, target: stack.address, line });
      hand.push(worker.ms);
      await worker.stop();
    }

    // Download: the cache dropped before each timed start; the baseline is the same package started from the cache.
    await adminStart(stack, { product: 'bench/big', version: big.version, identifier: 'big-prime' });
    await adminStop(stack, 'big-prime');
    const fetched = [];
    const cached = [];
    for (let i = 0; i < downloads; i += 1) {
      dropCache(stack.stateDir, big);
      fetched.push(await adminStart(stack, { product: 'bench/big', version: big.version, identifier: `big-d${i}` }));
      await adminStop(stack, `big-d${i}`);
      cached.push(await adminStart(stack, { product: 'bench/big', version: big.version, identifier: `big-c${i}` }));
      await adminStop(stack, `big-c${i}`);
    }

    const pythonRow = await pythonColdStart(stack, runs);

    const a = summary(ours);
    const h = summary(hand);
    const d = summary(fetched);
    const c = summary(cached);
    const spread = (s) => `median of ${s.n}, min ${round(s.min, 0)} max ${round(s.max, 0)} ms`;
    return [
      finishRow({
        name: 'cold start, cached package: ADMIN_START_WORKER → READY vs node worker.mjs → Welcome',
        value: round(a.median, 0), unit: 'ms', baseline: round(h.median, 0), ratio: round(a.median / h.median), goal: 'ratio <= 1.3',
        note: `ours ${spread(a)}; by hand ${spread(h)}`,
      }),
      finishRow({
        name: `cold start with download of a ${(zipBytes / 1e6).toFixed(1)} MB package (baseline: same package cached)`,
        value: round(d.median, 0), unit: 'ms', baseline: round(c.median, 0), ratio: round(d.median / c.median), goal: null,
        note: `download ${spread(d)}; cached ${spread(c)}`,
      }),
      pythonRow,
    ];
  } finally {
    await stack?.stop();
    rmSync(src, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const started = Date.now();
  const rows = await runColdStartBench({ quick: process.argv.includes('--quick') });
  console.log(textTable(rows));
  console.log(`cold-start bench: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
