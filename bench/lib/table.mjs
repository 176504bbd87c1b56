// The results table: plain text for the terminal, Markdown for BENCHMARKS.md.

const fmt = (x) => (x === null || x === undefined ? '—' : String(x));
const metText = (met) => (met === null ? '—' : met ? 'yes' : 'NO');

const COLUMNS = [
  ['figure', (r) => r.name],
  ['value', (r) => `${fmt(r.value)}${r.value === null ? '' : ` ${r.unit}`}`],
  ['baseline', (r) => `${fmt(r.baseline)}${r.baseline === null || r.baseline === undefined ? '' : ` ${r.unit}`}`],
  ['ratio', (r) => fmt(r.ratio)],
  ['goal', (r) => fmt(r.goal)],
  ['met', (r) => metText(r.met)],
];

/** Fixed-width text table of rows (notes printed below it). */
export function textTable(rows) {
  const cells = rows.map((r) => COLUMNS.map(([, get]) => get(r)));
  const widths = COLUMNS.map(([title], i) => Math.max(title.length, ...cells.map((c) => c[i].length)));
  const line = (values) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const out = [line(COLUMNS.map(([title]) => title)), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  * ${r.name}: ${r.note}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}
