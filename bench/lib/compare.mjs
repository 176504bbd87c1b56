// Sides of a closed-loop comparison, run in interleaved rounds: rate per round (median reported), latencies over all
// rounds, and CPU µs per command of every process of each side (/proc/PID/stat; this process is the client everywhere).
// Two sides compare by the median of their per-round ratios: the rounds of one index run back to back, so the host's
// speed, which swings 2× within seconds here, cancels out of each ratio instead of deciding which rounds the medians
// of the two sides come from.
import { closedLoop } from './load.mjs';
import { cpuMicros } from './stack.mjs';
import { percentile, round, summary } from './stats.mjs';

/** One side: `call()` → Promise<boolean ok>, `pids` the [name, pid] of the processes it runs on besides this one. */
function side(name, call, pids) {
  const rates = [];
  const latencies = [];
  let count = 0;
  let failures = 0;
  let cpu = 0;
  const perProcess = new Map();
  return {
    name,
    call,
    async round(concurrency, ms) {
      const before = pids.map(([, pid]) => cpuMicros(pid) ?? 0);
      const self = process.cpuUsage();
      const r = await closedLoop({ call, concurrency, durationMs: ms });
      const own = process.cpuUsage(self);
      const spent = [['client', own.user + own.system], ...pids.map(([what, pid], i) => [what, (cpuMicros(pid) ?? 0) - before[i]])];
      for (const [what, us] of spent) perProcess.set(what, (perProcess.get(what) ?? 0) + us);
      cpu += spent.reduce((sum, [, us]) => sum + us, 0);
      rates.push(r.rate);
      for (const l of r.latencies) latencies.push(l);
      count += r.count;
      failures += r.failures;
    },
    result() {
      latencies.sort((a, b) => a - b);
      const split = [...perProcess].map(([what, us]) => `${what} ${Math.round(us / count)}`).join(', ');
      return { rate: summary(rates).median, rates, p50: percentile(latencies, 50), p99: percentile(latencies, 99), count, failures, cpuPerCommand: cpu / count, perProcess, split };
    },
  };
}

/**
 * Every side ({name, call, pids}) for `rounds` rounds of `ms` each, interleaved with the order reversed every other
 * round (a, b, c, then c, b, a, …: a drift within a pair of rounds falls on both sides alike), after a warm-up of
 * each (3 s in a full run: a fresh Node process runs the hot path in V8's lower tiers for seconds, which made the first
 * rounds' tail the whole p99; 0.5 s in a quick one); returns each side's {name, rate (median of rounds), rates, p50,
 * p99, count, failures, cpuPerCommand, perProcess (µs by process name, the client's as 'client'), split}.
 */
export async function interleaved(sides, concurrency, ms, rounds) {
  const warmupMs = ms >= 1000 ? 3000 : 500;
  for (const s of sides) await closedLoop({ call: s.call, concurrency, durationMs: warmupMs });
  const open = sides.map((s) => side(s.name, s.call, s.pids));
  for (let r = 0; r < rounds; r += 1) for (const s of r % 2 === 0 ? open : [...open].reverse()) await s.round(concurrency, ms);
  return open.map((s) => ({ name: s.name, ...s.result() }));
}

const ms2 = (x) => round(x, 2);

/** `ours` ÷ `base` round by round (two results of one `interleaved` run: rounds of one index ran back to back). */
const roundRatios = (ours, base) => ours.rates.map((rate, i) => rate / base.rates[i]);

/** `ours` against `base`: the median of their per-round rate ratios. */
export function pairedRatio(ours, base) {
  return round(summary(roundRatios(ours, base)).median);
}

/** How a paired ratio was made, for a row's note (with the ratio of the two medians next to it). */
export function pairedNote(ours, base, rounds, ms) {
  const ratios = roundRatios(ours, base).map((r) => r.toFixed(2)).join(', ');
  return `median of the per-round ratios of ${rounds} interleaved rounds of ${ms} ms (${ratios}; ratio of the medians ${round(ours.rate / base.rate)})`;
}

/** One side's figures for a row's note. */
export function describe(r) {
  return `${Math.round(r.rate)}/s (rounds ${r.rates.map(Math.round).join(', ')}), p50 ${ms2(r.p50)} ms, p99 ${ms2(r.p99)} ms, CPU/command ${Math.round(r.cpuPerCommand)} µs (${r.split})`;
}
