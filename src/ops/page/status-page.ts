// GET / of the ops server: one self-contained HTML page whose inline script polls the ops API (no build step).
import { createHash } from 'node:crypto';
import { CHARTS_HTML, CHARTS_SCRIPT, CHARTS_STYLE } from './charts-script.js';
import { FLEET_HTML, FLEET_SCRIPT, FLEET_STYLE } from './fleet-script.js';

// Runs in the browser: fetches status, update modes, events and series (and the fleet, on its own) every 2 s;
// renders with textContent and SVG only.
const SCRIPT = String.raw`
'use strict';
${CHARTS_SCRIPT}
const $ = (id) => document.getElementById(id);
const fmtUptime = (s) => {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d > 0 ? d + 'd ' + h + 'h' : h > 0 ? h + 'h ' + m + 'm' : m > 0 ? m + 'm ' + (s % 60) + 's' : s + 's';
};
const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
function fill(tbodyId, rows, cells, empty) {
  const body = $(tbodyId);
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = 20;
    td.className = 'empty';
    td.textContent = empty;
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of cells(row)) {
      const td = tr.insertCell();
      if (cell && typeof cell === 'object') {
        td.textContent = cell.text;
        if (cell.cls) td.className = cell.cls;
      } else {
        td.textContent = cell === null || cell === undefined ? '—' : String(cell);
      }
    }
  }
}
const state = (s) => ({ text: s, cls: 'state state-' + String(s).toLowerCase() });
${FLEET_SCRIPT}
async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
  return res.json();
}
async function refresh() {
  try {
    const [status, updates, events, series] = await Promise.all([getJson('/api/v1/status'), getJson('/api/v1/updates'), getJson('/api/v1/events'), getJson('/api/v1/series')]);
    drawCharts(series);
    $('version').textContent = status.version;
    $('uptime').textContent = fmtUptime(status.up_time_seconds);
    fill('workers', status.workers, (w) => [w.identifier, w.product, w.version, state(w.state), w.pid, w.restarts, fmtUptime(w.uptimeSeconds), w.reason || ''], 'no instances');
    fill('updates', updates.updates, (u) => [u.product, u.mode, u.range, u.mode === 'auto' ? 'every ' + u.interval : u.at, fmtTime(u.nextCheck)], 'no configured connectors');
    fill('policies', status.policies, (p) => {
      const last = p.runs[p.runs.length - 1];
      return [p.name, p.package, p.schedule || 'once', p.command, state(p.state), last ? fmtTime(last.at) + ' ' + last.status + ' (' + last.duration_ms + ' ms)' : 'never', fmtTime(p.next_run)];
    }, 'no policies');
    fill('events', events.events.slice(-20).reverse(), (e) => {
      const p = e.payload || {};
      const what = [p.identifier, p.product, p.version, p.reason].filter((x) => x !== undefined && x !== null).join(' ');
      return [fmtTime(e.at), e.event, what];
    }, 'no events yet');
    $('error').hidden = true;
    $('refreshed').textContent = new Date().toLocaleTimeString();
    document.body.dataset.loaded = 'true';
  } catch (err) {
    $('error').hidden = false;
    $('error').textContent = 'cannot reach the ops API: ' + err.message;
  }
}
refresh();
setInterval(refresh, 2000);
fleetLoop();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f6f7f9; }
h1 { font-size: 1.3rem; margin: 0 0 .2rem; } h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
.meta { color: #5b6475; } table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6eb; white-space: nowrap; }
th { background: #eceff3; font-weight: 600; } td.empty { color: #8a93a3; font-style: italic; }
.state { font-weight: 600; } .state-ready, .state-active { color: #137333; } .state-failed, .state-invalid { color: #b3261e; }
.state-starting, .state-restarting, .state-draining, .state-deleting { color: #a15c00; } .state-stopped { color: #5b6475; }
${CHARTS_STYLE}
${FLEET_STYLE}
#error { background: #fde7e6; color: #b3261e; padding: .5rem .8rem; margin: .8rem 0; }
`;

/** The page: the script is inline and allowed by its hash, so nothing else may run. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>worker-admin status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<h1>worker-admin</h1>
<div class="meta">version <span id="version">…</span> · up <span id="uptime">…</span> · refreshed <span id="refreshed">never</span></div>
<div id="error" hidden></div>
${CHARTS_HTML}<h2>Instances</h2>
<table><thead><tr><th>Identifier</th><th>Product</th><th>Version</th><th>State</th><th>PID</th><th>Restarts</th><th>Uptime</th><th>Reason</th></tr></thead><tbody id="workers"></tbody></table>
${FLEET_HTML}<h2>Updates</h2>
<table><thead><tr><th>Product</th><th>Mode</th><th>Range</th><th>Interval / at</th><th>Next check</th></tr></thead><tbody id="updates"></tbody></table>
<h2>Policies</h2>
<table><thead><tr><th>Name</th><th>Package</th><th>Schedule</th><th>Command</th><th>State</th><th>Last run</th><th>Next run</th></tr></thead><tbody id="policies"></tbody></table>
<h2>Last events</h2>
<table><thead><tr><th>Time</th><th>Event</th><th>Details</th></tr></thead><tbody id="events"></tbody></table>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Only the page's own script and style run; it may only fetch from the ops server itself. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
