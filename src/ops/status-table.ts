// The ops API's status as plain-text tables, for `worker-admin status`.
import type { WorkerStatus } from '../admin/instance.js';
import type { PolicyView } from './policies/manager.js';
import type { UpdateModeView } from './updates.js';

/** What `worker-admin status` read from the ops API. */
export interface StatusReport {
  ops: string;
  status: { version: string; up_time_seconds: number; workers: WorkerStatus[]; policies: PolicyView[] };
  /** Undefined when the ops API has no /api/v1/updates (an older admin). */
  updates: UpdateModeView[] | undefined;
}

/** Renders the report: a header line, then instances, update modes and policies as aligned columns. */
export function renderStatus(report: StatusReport): string {
  const { status } = report;
  const out = [`worker-admin ${status.version} · ops ${report.ops} · up ${formatSeconds(status.up_time_seconds)}`, ''];
  out.push(...table(['INSTANCE', 'PRODUCT', 'VERSION', 'STATE', 'PID', 'RESTARTS', 'UPTIME', 'NOTE'], status.workers.map((w) => [
    w.identifier, w.product, w.version, w.state, w.pid === null ? '-' : String(w.pid), String(w.restarts),
    w.uptimeSeconds > 0 ? formatSeconds(w.uptimeSeconds) : '-', note(w),
  ]), 'no instances'));
  out.push('', 'UPDATES');
  if (report.updates === undefined) out.push('  (this admin does not report update modes)');
  else {
    out.push(...table(['PRODUCT', 'MODE', 'RANGE', 'INTERVAL/AT', 'NEXT CHECK'], report.updates.map((u) => [
      u.product, u.mode, u.range ?? '-', (u.mode === 'auto' ? u.interval : u.at) ?? '-', formatTime(u.nextCheck),
    ]), 'no configured connectors'));
  }
  out.push('', 'POLICIES');
  out.push(...table(['NAME', 'PACKAGE', 'SCHEDULE', 'COMMAND', 'STATE', 'LAST RUN', 'NEXT RUN'], status.policies.map((p) => {
    const last = p.runs[p.runs.length - 1];
    return [
      p.name, p.package, p.schedule ?? 'once', p.command + (p.dry_run ? ' (dry run)' : ''), p.state,
      last ? `${formatTime(last.at)} ${last.status} ${last.duration_ms}ms` : 'never', formatTime(p.next_run),
    ];
  }), 'no policies'));
  return `${out.join('\n')}\n`;
}

function note(w: WorkerStatus): string {
  const own = w.reason ?? (w.lastExit ? `last exit ${w.lastExit.signal ?? `code ${w.lastExit.code}`}` : '');
  const republished = w.republished ? `re-published ${w.republished.at} (${w.republished.from.slice(0, 12)} → ${w.republished.to.slice(0, 12)})` : '';
  return [own, w.notice ?? '', republished].filter((n) => n !== '').join('; ');
}

// Left-aligned columns two spaces apart; trailing spaces trimmed.
function table(head: string[], rows: string[][], empty: string): string[] {
  if (rows.length === 0) return [`  (${empty})`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** `3d 4h`, `2h 5m`, `4m 10s`, `12s`. */
function formatSeconds(total: number): string {
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

/** An ISO time as local `YYYY-MM-DD HH:MM:SS`; `-` for none. */
function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}
