// GET /api/v1/fleet as plain-text tables, for `worker-admin fleet status` (docs/fleet.md).
import type { FleetStatus } from '../fleet/host.js';

/** Renders hosts, the engines' health and the counters of the host that answered. */
export function renderFleetStatus(ops: string, status: FleetStatus): string {
  const out = [
    `fleet seen from ${status.host} (${status.state}, incarnation ${status.incarnation || '-'}) · ops ${ops}`,
    `engines  nats ${status.engines.nats} · etcd ${status.engines.etcd}`,
    '',
  ];
  const rows = status.hosts.map((h) => [
    h.name, h.status, h.incarnation || '-', labels(h.labels), h.addresses.router || '-', h.addresses.ops || '-', h.version || '-',
    h.instances.length === 0 ? '-' : h.instances.map((i) => `${i.identifier}@${i.version} ${i.state}`).join(', '),
  ]);
  out.push(...table(['HOST', 'STATUS', 'INCARNATION', 'LABELS', 'ROUTER', 'OPS', 'VERSION', 'INSTANCES'], rows, 'no hosts'));
  const live = status.hosts.filter((h) => h.status === 'live').length;
  out.push('', `${status.hosts.length} host(s): ${live} live, ${status.hosts.length - live} lost, leaving or silent`, '', 'COUNTERS');
  const counters = Object.entries(status.counters).sort(([a], [b]) => a.localeCompare(b));
  out.push(...table(['NAME', 'VALUE'], counters.map(([k, v]) => [k, String(v)]), 'none'));
  return `${out.join('\n')}\n`;
}

function labels(l: Record<string, string>): string {
  const pairs = Object.entries(l).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? '-' : pairs.join(',');
}

// Left-aligned columns two spaces apart; trailing spaces trimmed.
function table(head: string[], rows: string[][], empty: string): string[] {
  if (rows.length === 0) return [`  (${empty})`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}
