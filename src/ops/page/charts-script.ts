// The status page's charts: a small inline SVG renderer (no library, no network) over GET /api/v1/series.
// Each line carries its data as `data-values="t:v,…"` so a test (or a curious person) can read the points back.

/** Browser code, prepended to the page script; defines drawCharts(series). */
export const CHARTS_SCRIPT = String.raw`
const SVGNS = 'http://www.w3.org/2000/svg';
const CHARTS = [
  { id: 'chart-commands', unit: '/s', lines: ['SUCCESS', 'FAIL', 'TIMEOUT', 'NO_WORKER', 'INVALID'].map((s) => ({ key: 'commands.' + s, label: s, value: (p) => p.commands[s] })) },
  { id: 'chart-latency', unit: ' ms', lines: ['p50', 'p99'].map((q) => ({ key: 'latency_ms.' + q, label: q, value: (p) => p.latency_ms[q] })) },
  { id: 'chart-instances', unit: '', lines: ['READY', 'STARTING', 'DRAINING', 'RESTARTING', 'FAILED', 'INVALID', 'STOPPED'].map((s) => ({ key: 'instances.' + s, label: s, value: (p) => p.instances[s] })) },
];
const COLORS = {
  'commands.SUCCESS': '#137333', 'commands.FAIL': '#b3261e', 'commands.TIMEOUT': '#a15c00', 'commands.NO_WORKER': '#6a3fb5', 'commands.INVALID': '#5b6475',
  'latency_ms.p50': '#1a73e8', 'latency_ms.p99': '#d93025',
  'instances.READY': '#137333', 'instances.STARTING': '#1a73e8', 'instances.DRAINING': '#a15c00', 'instances.RESTARTING': '#e37400',
  'instances.FAILED': '#b3261e', 'instances.INVALID': '#6a3fb5', 'instances.STOPPED': '#8a93a3',
};
function svgEl(name, attrs, text) {
  const e = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
// 1, 2 or 5 times a power of ten, at or above max: round axis labels.
function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}
const fmtNum = (v) => (v >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100));
function drawChart(chart, series) {
  const svg = document.getElementById(chart.id);
  const W = 900, H = 170, L = 46, R = 8, T = 8, B = 20;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.replaceChildren();
  // The axis spans the samples there are (at least a minute), up to the whole window once it is full.
  const t1 = series.now;
  const oldest = series.points.length ? series.points[0].t - series.step_seconds * 1000 : t1;
  const t0 = Math.max(t1 - series.window_seconds * 1000, Math.min(oldest, t1 - 60000));
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  let max = 0;
  for (const p of series.points) for (const line of chart.lines) { const v = line.value(p); if (v !== null && v > max) max = v; }
  const top = niceMax(max);
  const y = (v) => H - B - (v / top) * (H - T - B);
  for (const f of [0, 0.5, 1]) {
    svg.append(svgEl('line', { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f), class: 'grid' }));
    svg.append(svgEl('text', { x: L - 4, y: y(top * f) + 4, class: 'axis', 'text-anchor': 'end' }, fmtNum(top * f) + chart.unit));
  }
  const span = t1 - t0;
  const tick = [10e3, 30e3, 60e3, 120e3, 300e3].find((s) => span / s <= 6) || 300e3;
  for (let ago = 0; ago <= span; ago += tick) {
    const label = ago === 0 ? 'now' : ago < 60e3 ? '-' + ago / 1000 + ' s' : '-' + ago / 60e3 + ' min';
    svg.append(svgEl('text', { x: x(t1 - ago), y: H - 5, class: 'axis', 'text-anchor': ago === 0 ? 'end' : 'middle' }, label));
  }
  for (const b of series.bands) {
    const start = Math.max(b.start, t0), end = b.end === null ? t1 : b.end;
    const rect = svgEl('rect', { x: x(start), y: T, width: Math.max(2, x(end) - x(start)), height: H - T - B, class: 'band band-' + b.outcome,
      'data-start': b.start, 'data-end': b.end === null ? '' : b.end, 'data-identifier': b.identifier, 'data-outcome': b.outcome });
    rect.append(svgEl('title', {}, 'update ' + b.product + ' ' + b.from + ' → ' + b.to + ' on ' + b.identifier + ': ' + b.outcome));
    svg.append(rect);
  }
  for (const m of series.markers) {
    const mark = svgEl('line', { x1: x(m.t), x2: x(m.t), y1: T, y2: H - B, class: 'marker marker-' + m.kind, 'data-t': m.t, 'data-kind': m.kind });
    mark.append(svgEl('title', {}, m.kind + ' ' + m.identifier + ' ' + m.detail));
    svg.append(mark);
  }
  for (const line of chart.lines) {
    const pts = series.points.map((p) => [p.t, line.value(p)]).filter((tv) => tv[1] !== null);
    const poly = svgEl('polyline', { class: 'series', stroke: COLORS[line.key], 'data-series': line.key,
      'data-values': pts.map((tv) => tv[0] + ':' + tv[1]).join(','), points: pts.map((tv) => x(tv[0]).toFixed(1) + ',' + y(tv[1]).toFixed(1)).join(' ') });
    svg.append(poly);
  }
  const legend = document.getElementById(chart.id + '-legend');
  legend.replaceChildren();
  for (const line of chart.lines) {
    const last = series.points.length ? line.value(series.points[series.points.length - 1]) : null;
    const item = document.createElement('span');
    item.className = 'key';
    item.style.setProperty('--c', COLORS[line.key]);
    item.textContent = line.label + ' ' + (last === null ? '—' : fmtNum(last) + chart.unit);
    legend.append(item);
  }
}
function drawCharts(series) {
  for (const chart of CHARTS) drawChart(chart, series);
  document.getElementById('charts').dataset.points = String(series.points.length);
}
`;

/** The charts' CSS. */
export const CHARTS_STYLE = `
.charts { display: grid; grid-template-columns: 1fr; gap: .6rem; }
figure { margin: 0; background: #fff; padding: .4rem .6rem; border: 1px solid #e3e6eb; }
figcaption { font-weight: 600; font-size: .9rem; } figcaption .legend { font-weight: 400; margin-left: .6rem; }
.key { margin-right: .8rem; white-space: nowrap; } .key::before { content: ''; display: inline-block; width: .8rem; height: .2rem; margin-right: .3rem; vertical-align: middle; background: var(--c); }
svg.chart { width: 100%; height: 170px; display: block; }
svg .grid { stroke: #e3e6eb; stroke-width: 1; } svg .axis { font-size: 11px; fill: #5b6475; }
svg .series { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
svg .band { fill: #1a73e8; opacity: .12; } svg .band-failed { fill: #b3261e; } svg .band-running { fill: #e37400; }
svg .marker { stroke-width: 1.5; stroke-dasharray: 4 3; } svg .marker-restart { stroke: #e37400; } svg .marker-update { stroke: #1a73e8; }
`;

/** The charts' HTML: three figures filled by drawCharts. */
export const CHARTS_HTML = `
<h2>Last 15 minutes <span class="meta">(restarts and update ends as dashed lines, rolling updates as bands)</span></h2>
<div id="charts" class="charts" data-points="0">
<figure><figcaption>Commands per second by status<span class="legend" id="chart-commands-legend"></span></figcaption><svg class="chart" id="chart-commands" role="img" aria-label="commands per second by status"></svg></figure>
<figure><figcaption>Dispatch latency<span class="legend" id="chart-latency-legend"></span></figcaption><svg class="chart" id="chart-latency" role="img" aria-label="dispatch latency p50 and p99"></svg></figure>
<figure><figcaption>Instances by state<span class="legend" id="chart-instances-legend"></span></figcaption><svg class="chart" id="chart-instances" role="img" aria-label="instances by state"></svg></figure>
</div>
`;
