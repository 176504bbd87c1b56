// Flood: one worker writing stdout as fast as the pipe takes it (test/fixtures/output-connectors/tests/flood) beside an echo
// worker. The admin's peak RSS against its idle RSS (goal ≤ 1.3 × idle + 20 MB: the row's ratio is peak / that bound,
// goal ≤ 1), and echo throughput while it floods against the same load without it.
// Run alone: `node bench/flood.mjs [--quick]` (needs `npm run build`).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { closedLoop } from './lib/load.mjs';
import { isMain, ROOT } from './lib/paths.mjs';
import { finishRow } from './lib/rows.mjs';
import { startStackProcess } from './lib/stack.mjs';
import { round } from './lib/stats.mjs';
import { textTable } from './lib/table.mjs';

const MB = 1024 * 1024;
const CONCURRENCY = 8;

async function echoLoad(stack, durationMs) {
  return closedLoop({
    concurrency: CONCURRENCY, durationMs,
    call: async () => (await stack.client.sendCommand({ command: 'ECHO', payload: '{"n":1}', timeout_ms: 10_000 })).status === 'SUCCESS',
  });
}

/** Rows {name, value, unit, baseline, ratio, goal, met}. */
export async function runFloodBench({ quick = false } = {}) {
  const loadMs = quick ? 3_000 : 15_000;
  // Worker lines are logged at info, as in production; the log itself goes to /dev/null here (journald's side is not measured).
  const stack = await startStackProcess({ connectorsDir: [join(ROOT, 'connectors'), join(ROOT, 'test/fixtures/output-connectors')], logLevel: 'info', stderr: 'ignore' });
  try {
    const echo = await stack.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.1', params: { greeting: 'hello' } });
    if (echo.status !== 'SUCCESS') throw new Error(`echo did not start: ${echo.error}`);
    await echoLoad(stack, 2_000); // warm-up
    const idle = stack.rss();
    const quiet = await echoLoad(stack, loadMs);

    const flood = await stack.send('ADMIN_START_WORKER', { product: 'tests/flood', version: '1.0' });
    if (flood.status !== 'SUCCESS') throw new Error(`the flooding worker did not start: ${flood.error}`);
    let peak = stack.rss();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, stack.rss() ?? 0);
        await sleep(100);
      }
    })();
    const cpu0 = stack.cpu();
    const loud = await echoLoad(stack, loadMs);
    const cpu1 = stack.cpu();
    sampling = false;
    await sampler;
    const bound = 1.3 * idle + 20 * MB;
    const adminCpu = round((cpu1.stack - cpu0.stack) / (loadMs * 1000), 2);
    return [
      finishRow({
        name: 'flood: admin RSS under one flooding worker (bound: 1.3 × idle + 20 MB)', value: round(peak / MB, 1), unit: 'MB',
        baseline: round(idle / MB, 1), ratio: round(peak / bound, 2), goal: 'ratio <= 1',
        note: `bound ${round(bound / MB, 1)} MB; admin CPU ${adminCpu} cores while flooding`,
      }),
      finishRow({
        name: `flood: echo throughput beside a flooding worker (baseline: no flood), ${CONCURRENCY} in flight`, value: round(loud.rate), unit: 'cmd/s',
        baseline: round(quiet.rate), ratio: round(loud.rate / quiet.rate, 2), goal: null,
        note: `failures ${loud.failures}; p50 ${round(loud.p50, 2)} ms (no flood ${round(quiet.p50, 2)} ms), p99 ${round(loud.p99, 2)} ms (no flood ${round(quiet.p99, 2)} ms)`,
      }),
    ];
  } finally {
    await stack.stop();
  }
}

if (isMain(import.meta.url)) {
  const rows = await runFloodBench({ quick: process.argv.includes('--quick') });
  process.stdout.write(textTable(rows));
}
