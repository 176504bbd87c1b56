// `npm run bench [-- --quick] [-- --only=router,streaming]`: every benchmark against its baseline, one after the other,
// a table on stdout and bench/results.json {date, machine, results: [{name, value, unit, baseline, ratio, goal, met}]}.
// A benchmark that is missing or crashes still leaves a row (value null, met false, a note) and makes the exit code 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineInfo } from './lib/machine.mjs';
import { ROOT } from './lib/paths.mjs';
import { finishRow, missingRow } from './lib/rows.mjs';
import { textTable } from './lib/table.mjs';
import { errorText, parseArgs } from './lib/args.mjs';

/** The benchmarks in run order: module, exported function, and the row recorded if it cannot run. */
const BENCHES = [
  { id: 'router', file: 'router.mjs', fn: 'runRouterBench', what: 'routing: router → echo worker vs bare grpc-js unary echo' },
  { id: 'streaming', file: 'streaming.mjs', fn: 'runStreamingBench', what: 'streaming client vs bare NATS request-reply; unary vs a check-free relay floor' },
  { id: 'replay', file: 'replay.mjs', fn: 'runReplayBench', what: 'replay window: heap per remembered reply vs the object-per-answer layout' },
  { id: 'unpack', file: 'unpack.mjs', fn: 'runUnpackBench', what: 'unpack + verify a 50 MB package vs unzip + sha256sum' },
  { id: 'cold-start', file: 'cold-start.mjs', fn: 'runColdStartBench', what: 'cold start: ADMIN_START_WORKER → READY vs node worker.mjs by hand' },
  { id: 'scale', file: 'scale.mjs', fn: 'runScaleBench', what: 'scale: 200 instances vs PM2, RSS, dispatch at 1/20/200' },
  { id: 'rolling', file: 'rolling.mjs', fn: 'runRollingBench', what: 'rolling update under 1,000 commands/s vs PM2 cluster-mode reload' },
  { id: 'flood', file: 'flood.mjs', fn: 'runFloodBench', what: 'flood: admin RSS and echo throughput beside a worker flooding stdout' },
  { id: 'fleet', file: 'fleet.mjs', fn: 'runFleetBench', what: 'fleet: cross-host commands vs bare NATS request-reply; local traffic with uuids vs a single host' },
  { id: 'fleet-rollout', file: 'fleet-rollout.mjs', fn: 'runFleetRolloutBench', what: 'fleet rollout of 30 instances over 3 hosts vs 3 single-host ADMIN_UPDATEs in parallel, under load' },
];

// Goals the issue sets that a bench's own rows leave open: router p99 ≤ 2× bare (its latency ratio is bare / router).
function addIssueGoals(row) {
  if (row.goal == null && /^router c=\d+ p99$/.test(row.name)) return { ...row, goal: 'ratio >= 0.5' };
  return row;
}

async function runOne(bench, quick) {
  let mod;
  try {
    mod = await import(pathToFileURL(join(ROOT, 'bench', bench.file)).href);
  } catch (error) {
    return { rows: [missingRow(bench.what, `bench/${bench.file} could not be loaded: ${errorText(error)}`)], failed: true };
  }
  if (typeof mod[bench.fn] !== 'function') {
    return { rows: [missingRow(bench.what, `bench/${bench.file} does not export ${bench.fn}({quick})`)], failed: true };
  }
  try {
    const rows = await mod[bench.fn]({ quick });
    return { rows: rows.map((r) => finishRow(addIssueGoals(r))), failed: false };
  } catch (error) {
    return { rows: [missingRow(bench.what, `bench/${bench.file} failed: ${errorText(error)}`)], failed: true };
  }
}

const { quick, only } = parseArgs(process.argv.slice(2), BENCHES.map((b) => b.id));
const started = Date.now();
const machine = machineInfo();
const results = [];
const timings = {};
let failures = 0;
for (const bench of BENCHES.filter((b) => only.includes(b.id))) {
  const t = Date.now();
  process.stderr.write(`bench ${bench.id}${quick ? ' (quick)' : ''}…\n`);
  const { rows, failed } = await runOne(bench, quick);
  timings[bench.id] = +((Date.now() - t) / 1000).toFixed(1);
  if (failed) failures += 1;
  results.push(...rows.map((r) => ({ ...r, bench: bench.id })));
  process.stderr.write(`bench ${bench.id}: ${timings[bench.id]} s${failed ? ` — FAILED: ${rows[0].note}` : ''}\n`);
}

const output = {
  date: new Date().toISOString(),
  machine: { ...machine, loadavgAtEnd: machineInfo().loadavg },
  quick,
  seconds: { total: +((Date.now() - started) / 1000).toFixed(1), ...timings },
  results,
};
writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(output, null, 2)}\n`);
console.log(textTable(results));
const goals = results.filter((r) => r.goal !== null);
console.log(`\n${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}; load ${machine.loadavg.join(' ')} → ${output.machine.loadavgAtEnd.join(' ')}`);
console.log(`${goals.filter((r) => r.met).length}/${goals.length} goals met; ${failures} benchmark(s) failed; ${output.seconds.total} s; wrote bench/results.json`);
process.exitCode = failures > 0 ? 1 : 0;
