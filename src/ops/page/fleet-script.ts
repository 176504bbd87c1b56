// The status page's Fleet section (docs/fleet.md): hosts, instances per host and version, desired vs running,
// rollouts with their batches, from GET /api/v1/fleet?optional=true (204 on a single host: the section stays hidden).

/** Browser code, prepended to the page script; defines fleetLoop(), which redraws the section every 2 s. */
export const FLEET_SCRIPT = String.raw`
const TERMINAL = ['SUCCEEDED', 'ROLLED_BACK', 'ROLLBACK_FAILED'];
function el(name, text, cls) {
  const e = document.createElement(name);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
const clock = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
// Numeric-aware version order: 1.2 before 1.10.
const byVersion = (a, b) => a.localeCompare(b, undefined, { numeric: true });
// What a host is, from the answering host's point of view: its status, cordon, and (for itself) fencing.
function hostStatus(fleet, h) {
  const words = [];
  if (h.name === fleet.host && fleet.state === 'FENCED') words.push('fenced');
  else if (h.name === fleet.host && fleet.state === 'CUT_OFF') words.push('cut off');
  else words.push(h.status);
  if (h.cordon === 'cordon') words.push('cordoned');
  if (h.cordon === 'drain') words.push('draining');
  const bad = words.includes('lost') || words.includes('fenced') || words.includes('cut off');
  return { text: words.join(' · '), cls: 'state ' + (bad ? 'st-bad' : words.length > 1 || h.status !== 'live' ? 'st-warn' : 'st-ok') };
}
function drawFleetMeta(fleet) {
  const meta = $('fleet-meta');
  meta.replaceChildren();
  const part = (text, cls) => { if (meta.childNodes.length) meta.append(' · '); meta.append(el('span', text, cls)); };
  part('seen from ' + fleet.host + ' (' + fleet.state + ')');
  if (fleet.coordinator === null) part('no coordinator elected', 'st-bad');
  else if (fleet.coordinator) part('coordinator ' + fleet.coordinator.host + ' since ' + clock(fleet.coordinator.since), 'coordinator');
  part('NATS ' + fleet.engines.nats, fleet.engines.nats === 'connected' ? '' : 'st-bad');
  part('etcd ' + fleet.engines.etcd, fleet.engines.etcd === 'reachable' ? '' : 'st-bad');
}
function drawFleetMatrix(fleet) {
  const columns = [];
  for (const h of fleet.hosts) for (const i of h.instances) {
    if (!columns.some((c) => c.product === i.product && c.version === i.version)) columns.push({ product: i.product, version: i.version });
  }
  columns.sort((a, b) => a.product.localeCompare(b.product) || byVersion(a.version, b.version));
  const head = el('tr');
  head.append(el('th', 'Host'), ...columns.map((c) => el('th', c.product + ' ' + c.version)));
  $('fleet-matrix-head').replaceChildren(head);
  // A cell: how many instances of that version the host runs, and how many of them are not READY.
  const cell = (instances) => {
    if (instances.length === 0) return '';
    const waiting = {};
    for (const i of instances) if (i.state !== 'READY') waiting[i.state] = (waiting[i.state] || 0) + 1;
    const notes = Object.entries(waiting).map(([s, n]) => n + ' ' + s);
    return { text: String(instances.length) + (notes.length ? ' (' + notes.join(', ') + ')' : ''), cls: notes.length ? 'st-warn' : '' };
  };
  const of = (instances, c) => instances.filter((i) => i.product === c.product && i.version === c.version);
  const rows = columns.length === 0 ? [] : [...fleet.hosts.map((h) => ({ name: h.name, instances: h.instances })),
    { name: 'all hosts', instances: fleet.hosts.flatMap((h) => h.instances), total: true }];
  fill('fleet-matrix', rows, (r) => [r.total ? { text: r.name, cls: 'total' } : r.name, ...columns.map((c) => cell(of(r.instances, c)))], 'no instances in the fleet');
}
function drawFleetDesired(fleet) {
  $('fleet-desired-part').hidden = fleet.desired === undefined;
  if (fleet.desired === undefined) return;
  fill('fleet-desired', fleet.desired, (d) => [
    d.product, d.instances, { text: String(d.running), cls: d.running < d.instances ? 'st-warn' : 'st-ok' },
    Object.entries(d.versions).sort((a, b) => byVersion(a[0], b[0])).map(([v, n]) => v + ' ×' + n).join(', ') || '—',
    d.missing ? { text: d.missing, cls: 'st-bad' } : '',
  ], 'no desired state (fleet apply)');
}
function batchLabel(r, i) {
  if (r.canary > 0) return i === 0 ? 'canary' : 'batch ' + i;
  return 'batch ' + (i + 1);
}
function drawFleetRollouts(fleet) {
  $('fleet-rollouts-part').hidden = fleet.rollouts === undefined;
  const box = $('fleet-batches');
  box.replaceChildren();
  if (fleet.rollouts === undefined) return;
  const running = fleet.rollouts.filter((r) => !TERMINAL.includes(r.state)).sort((a, b) => a.startedAt - b.startedAt);
  const ended = fleet.rollouts.filter((r) => TERMINAL.includes(r.state)).sort((a, b) => (b.endedAt || 0) - (a.endedAt || 0));
  const at = (r) => batchLabel(r, r.batch) + ' (' + (r.batch + 1) + ' of ' + r.batches.length + ')';
  fill('fleet-rollouts', [...running, ...ended], (r) => [
    r.product, r.from + ' → ' + r.to, state(r.state), TERMINAL.includes(r.state) ? r.batches.length + ' batch(es)' : at(r),
    clock(r.startedAt), clock(r.endedAt), r.reason ? r.reason + (r.host ? ' on ' + r.host : '') : '',
  ], 'no rollout yet');
  // The rollouts in progress, batch by batch: which one is moving, and each instance's state in it.
  for (const r of running) {
    const table = el('table', undefined, 'batches');
    table.dataset.rollout = r.id;
    table.append(el('caption', r.product + ' ' + r.from + ' → ' + r.to + ' · ' + r.state + ' · ' + at(r)));
    const head = table.createTHead().insertRow();
    for (const h of ['Batch', 'Progress', 'Instances']) head.append(el('th', h));
    const body = table.createTBody();
    r.batches.forEach((ids, i) => {
      const tr = body.insertRow();
      tr.dataset.batch = String(i);
      if (i === r.batch) tr.className = 'current';
      const progress = r.state === 'PENDING' || i > r.batch ? 'waiting' : i < r.batch ? 'done' : r.state === 'PAUSED' ? 'paused' : r.state === 'ROLLING_BACK' ? 'rolling back' : 'in progress';
      tr.insertCell().textContent = batchLabel(r, i);
      tr.insertCell().textContent = progress;
      const cell = tr.insertCell();
      for (const id of ids) {
        const inst = r.instances[id];
        const item = el('span', id + (inst ? ' on ' + inst.host + ': ' + inst.state : ''), 'instance rs-' + (inst ? inst.state : 'unknown'));
        item.dataset.identifier = id;
        cell.append(item);
      }
    });
    box.append(table);
  }
}
function drawFleet(fleet) {
  $('fleet').hidden = fleet === null;
  if (fleet === null) return;
  drawFleetMeta(fleet);
  fill('fleet-hosts', fleet.hosts, (h) => [
    fleet.coordinator && fleet.coordinator.host === h.name ? { text: h.name + ' (coordinator)', cls: 'coordinator' } : h.name,
    hostStatus(fleet, h), Object.entries(h.labels).map(([k, v]) => k + '=' + v).join(', '),
    h.capacity, h.instances.length, h.version || null, h.addresses.router || null, h.addresses.ops || null,
  ], 'no hosts');
  drawFleetMatrix(fleet);
  drawFleetDesired(fleet);
  drawFleetRollouts(fleet);
}
async function refreshFleet() {
  try {
    const res = await fetch('/api/v1/fleet?optional=true', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (res.status !== 200 && res.status !== 204) throw new Error('/api/v1/fleet: HTTP ' + res.status);
    const fleet = res.status === 204 ? null : await res.json();
    drawFleet(fleet);
    $('fleet-error').hidden = true;
    document.body.dataset.fleet = fleet === null ? 'none' : 'shown';
  } catch (err) {
    $('fleet-error').hidden = false;
    $('fleet-error').textContent = 'cannot read the fleet: ' + err.message;
  }
}
// Chained rather than on an interval: a fleet status waits on etcd, and slow answers must not pile up.
async function fleetLoop() {
  await refreshFleet();
  setTimeout(fleetLoop, 2000);
}
`;

/** The section's CSS. */
export const FLEET_STYLE = `
h3 { font-size: .9rem; margin: 1rem 0 .3rem; }
.st-ok { color: #137333; } .st-warn { color: #a15c00; } .st-bad { color: #b3261e; }
.coordinator { font-weight: 600; } td.total { font-weight: 600; }
.state-canary, .state-batch, .state-pending, .state-paused, .state-rolling_back { color: #a15c00; }
.state-succeeded { color: #137333; } .state-rolled_back, .state-rollback_failed { color: #b3261e; }
table.batches { margin-top: .6rem; } table.batches caption { text-align: left; font-weight: 600; padding: .3rem 0; }
table.batches tr.current td { background: #fff6e0; }
.instance { margin-right: 1rem; } .rs-healthy, .rs-reverted { color: #137333; } .rs-moving, .rs-reverting { color: #a15c00; } .rs-failed { color: #b3261e; } .rs-pending { color: #5b6475; }
.fleet-error { background: #fde7e6; color: #b3261e; padding: .5rem .8rem; margin: .8rem 0; }
`;

/** The section's HTML, hidden until GET /api/v1/fleet answers with a fleet. */
export const FLEET_HTML = `
<section id="fleet" hidden>
<h2>Fleet <span class="meta" id="fleet-meta"></span></h2>
<div id="fleet-error" class="fleet-error" hidden></div>
<table><thead><tr><th>Host</th><th>Status</th><th>Labels</th><th>Capacity</th><th>Instances</th><th>Version</th><th>Router</th><th>Ops</th></tr></thead><tbody id="fleet-hosts"></tbody></table>
<h3>Instances per host and version</h3>
<table><thead id="fleet-matrix-head"></thead><tbody id="fleet-matrix"></tbody></table>
<div id="fleet-desired-part" hidden><h3>Desired vs running</h3>
<table><thead><tr><th>Product</th><th>Desired</th><th>Running</th><th>Versions</th><th>Missing</th></tr></thead><tbody id="fleet-desired"></tbody></table></div>
<div id="fleet-rollouts-part" hidden><h3>Rollouts</h3>
<table><thead><tr><th>Product</th><th>Versions</th><th>State</th><th>Batch</th><th>Started</th><th>Ended</th><th>Reason</th></tr></thead><tbody id="fleet-rollouts"></tbody></table>
<div id="fleet-batches"></div></div>
</section>
`;
