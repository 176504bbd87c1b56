// GET /api/v1/fleet as plain-text tables, for `worker-admin fleet status` (docs/fleet.md).
import type { FleetStatus } from '../fleet/host.js';
import { TERMINAL_ROLLOUT_STATES, type RolloutRecord } from '../fleet/rollout/types.js';

type FleetHostView = FleetStatus['hosts'][number];

/** Renders the coordinator, hosts, desired vs running, rollouts, the engines' health and the counters of the host that answered. */
export function renderFleetStatus(ops: string, status: FleetStatus): string {
  const out = [
    `fleet seen from ${status.host} (${status.state}, incarnation ${status.incarnation || '-'}) · ops ${ops}`,
    `engines  nats ${status.engines.nats} · etcd ${status.engines.etcd}`,
  ];
  if (status.coordinator !== undefined) {
    out.push(status.coordinator === null ? 'coordinator  none elected' : `coordinator  ${status.coordinator.host} since ${formatTime(status.coordinator.since)}`);
  }
  out.push('');
  const rows = status.hosts.map((h) => [
    h.name, hostStatus(status, h), h.incarnation || '-', labels(h.labels), h.capacity == null ? '-' : String(h.capacity),
    h.addresses.router || '-', h.addresses.ops || '-', h.version || '-',
    h.instances.length === 0 ? '-' : h.instances.map((i) => `${i.identifier}@${i.version} ${i.state}`).join(', '),
  ]);
  out.push(...table(['HOST', 'STATUS', 'INCARNATION', 'LABELS', 'CAPACITY', 'ROUTER', 'OPS', 'VERSION', 'INSTANCES'], rows, 'no hosts'));
  const live = status.hosts.filter((h) => h.status === 'live').length;
  const cordoned = status.hosts.filter((h) => h.cordon != null).length;
  out.push('', `${status.hosts.length} host(s): ${live} live, ${status.hosts.length - live} lost, leaving or silent${cordoned > 0 ? `; ${cordoned} cordoned or draining` : ''}`);
  if (status.desired !== undefined) {
    out.push('', 'DESIRED');
    out.push(...table(['PRODUCT', 'INSTANCES', 'RUNNING', 'VERSIONS', 'MISSING'], status.desired.map((d) => [
      d.product, String(d.instances), String(d.running), versions(d.versions), d.missing ?? '-',
    ]), 'no desired state'));
  }
  if (status.rollouts !== undefined) out.push(...rollouts(status.rollouts));
  out.push('', 'COUNTERS');
  const counters = Object.entries(status.counters).sort(([a], [b]) => a.localeCompare(b));
  out.push(...table(['NAME', 'VALUE'], counters.map(([k, v]) => [k, String(v)]), 'none'));
  return `${out.join('\n')}\n`;
}

/** `live`, `lost`, `leaving`, `silent`, or `fenced` / `cut-off` for the answering host; then `coordinator`, `cordoned`, `draining`. */
function hostStatus(status: FleetStatus, h: FleetHostView): string {
  const self = h.name === status.host;
  const words = [self && status.state === 'FENCED' ? 'fenced' : self && status.state === 'CUT_OFF' ? 'cut-off' : h.status];
  if (status.coordinator?.host === h.name) words.push('coordinator');
  if (h.cordon === 'cordon') words.push('cordoned');
  if (h.cordon === 'drain') words.push('draining');
  return words.join(' ');
}

/** Each rollout in progress with its batches, then the finished ones, newest first. */
function rollouts(records: RolloutRecord[]): string[] {
  const ended = (r: RolloutRecord): boolean => TERMINAL_ROLLOUT_STATES.includes(r.state);
  const running = records.filter((r) => !ended(r)).sort((a, b) => a.startedAt - b.startedAt);
  const done = records.filter(ended).sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
  const out = ['', 'ROLLOUTS'];
  out.push(...table(['PRODUCT', 'FROM', 'TO', 'STATE', 'BATCH', 'STARTED', 'ENDED', 'REASON'], [...running, ...done].map((r) => [
    r.product, r.from, r.to, r.state, ended(r) ? `${r.batches.length} batch(es)` : at(r),
    formatTime(r.startedAt), formatTime(r.endedAt), r.reason ? `${r.reason}${r.host ? ` on ${r.host}` : ''}` : '-',
  ]), 'no rollout yet'));
  for (const r of running) {
    out.push('', `rollout ${r.id}: ${r.product} ${r.from} → ${r.to}, ${r.state}, ${at(r)}`);
    out.push(...table(['  BATCH', 'PROGRESS', 'INSTANCES'], r.batches.map((ids, i) => [
      `  ${batchLabel(r, i)}`, progress(r, i),
      ids.map((id) => {
        const inst = r.instances[id];
        return inst ? `${id} on ${inst.host}: ${inst.state}` : id;
      }).join(', '),
    ]), 'no batches'));
  }
  return out;
}

/** The batch in progress: `batch 1 (2 of 3)`. */
function at(r: RolloutRecord): string {
  return `${batchLabel(r, r.batch)} (${r.batch + 1} of ${r.batches.length})`;
}

/** `canary`, then `batch 1`…; without canaries the first batch is `batch 1`. */
function batchLabel(r: RolloutRecord, i: number): string {
  if (r.canary > 0) return i === 0 ? 'canary' : `batch ${i}`;
  return `batch ${i + 1}`;
}

function progress(r: RolloutRecord, i: number): string {
  if (r.state === 'PENDING' || i > r.batch) return 'waiting';
  if (i < r.batch) return 'done';
  return r.state === 'PAUSED' ? 'paused' : r.state === 'ROLLING_BACK' ? 'rolling back' : 'in progress';
}

function versions(counts: Record<string, number>): string {
  const pairs = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  return pairs.length === 0 ? '-' : pairs.map(([v, n]) => `${v}×${n}`).join(', ');
}

function labels(l: Record<string, string>): string {
  const pairs = Object.entries(l).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? '-' : pairs.join(',');
}

/** Epoch ms as local `YYYY-MM-DD HH:MM:SS`; `-` for none. */
function formatTime(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  const t = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

// Left-aligned columns two spaces apart; trailing spaces trimmed.
function table(head: string[], rows: string[][], empty: string): string[] {
  if (rows.length === 0) return [`  (${empty})`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}
