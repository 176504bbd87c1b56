// The table of BENCHMARKS.md from one or more results.json files (runs side by side, to show the spread):
//   node bench/lib/report.mjs run1.json run2.json > table.md
import { readFileSync } from 'node:fs';
import { isMain } from './paths.mjs';

const cell = (x) => (x === null || x === undefined ? '—' : String(x));
const met = (m) => (m === null ? '—' : m ? 'yes' : '**NO**');
const esc = (s) => String(s).replaceAll('|', '\\|');

/** Markdown: one line per figure, value / baseline / ratio / met for each run, the goal once. */
export function reportTable(runs) {
  const names = [...new Set(runs.flatMap((r) => r.results.map((x) => x.name)))];
  const head = ['figure', 'unit', ...runs.flatMap((_, i) => [`run ${i + 1}: value`, 'baseline', 'ratio', 'met']), 'goal'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const name of names) {
    const rows = runs.map((r) => r.results.find((x) => x.name === name));
    const any = rows.find(Boolean);
    const perRun = rows.flatMap((r) => (r ? [cell(r.value), cell(r.baseline), cell(r.ratio), met(r.met)] : ['', '', '', '']));
    lines.push(`| ${esc(name)} | ${esc(any.unit)} | ${perRun.map(esc).join(' | ')} | ${esc(cell(any.goal))} |`);
  }
  return lines.join('\n');
}

/** One line per run: when, machine, load. */
export function machineLines(runs) {
  return runs.map((r, i) => {
    const m = r.machine;
    return `- run ${i + 1}: ${r.date}, ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, kernel ${m.kernel}; `
      + `load average (1/5/15 min) ${m.loadavg.join(' / ')} at start, ${m.loadavgAtEnd.join(' / ')} at end; ${r.seconds.total} s${r.quick ? ' (quick)' : ''}`;
  }).join('\n');
}

if (isMain(import.meta.url)) {
  const runs = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
  if (runs.length === 0) throw new Error('usage: node bench/lib/report.mjs results.json [more.json…]');
  console.log(`${machineLines(runs)}\n\n${reportTable(runs)}`);
  const notes = runs.flatMap((r, i) => r.results.filter((x) => x.note).map((x) => `- run ${i + 1}, ${x.name}: ${x.note}`));
  if (notes.length > 0) console.log(`\nNotes:\n${notes.join('\n')}`);
}
