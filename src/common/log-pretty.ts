// Human log lines for a terminal: pino's JSON records (already redacted by the logger) turned into
// `HH:MM:SS.mmm LEVEL component message key=value …`, one line per record.
import { WorkerAdminError } from './errors.js';

export type LogFormat = 'json' | 'pretty';

/**
 * WORKER_ADMIN_LOG_FORMAT: `json` or `pretty`; unset or empty: pretty when stderr is a terminal, JSON otherwise
 * (CI, systemd, pipes). Anything else is refused.
 */
export function logFormat(env: NodeJS.ProcessEnv, stderrIsTTY: boolean): LogFormat {
  const value = env['WORKER_ADMIN_LOG_FORMAT'] ?? '';
  if (value === 'json' || value === 'pretty') return value;
  if (value === '') return stderrIsTTY ? 'pretty' : 'json';
  throw new WorkerAdminError('CONFIG_INVALID', `WORKER_ADMIN_LOG_FORMAT: must be json or pretty, not ${JSON.stringify(value)}`);
}

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};

// Shown in their own places, or noise for a person (the pid is the same on every line of one process).
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'component']);

// C0/C1 controls (a worker's output could carry terminal escapes), line and paragraph separators, bidi overrides.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control or bidi character written as an escape: one line, nothing the terminal interprets. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const BARE = /^[^\s"'=\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+$/;

function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    return BARE.test(value) ? escapeControls(value) : `"${escapeControls(value.replace(/\\/g, '\\\\').replace(/"/g, '\\"'))}"`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return escapeControls(JSON.stringify(value));
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

function formatTime(ms: unknown): string {
  if (typeof ms !== 'number') return '--:--:--.---';
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/**
 * One human line (with its newline) for one pino JSON line: local time, level, component (or the logger's name),
 * message, then the other fields as key=value. A line that is not a JSON object comes back as it was.
 */
export function formatLogLine(line: string, options: { color?: boolean } = {}): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return line.endsWith('\n') ? line : `${line}\n`;
  const r = record as Record<string, unknown>;
  const level = typeof r['level'] === 'number' ? LEVELS[r['level']] : undefined;
  const raw = r['level'];
  const levelName = (level?.name ?? (typeof raw === 'string' || typeof raw === 'number' ? escapeControls(String(raw)) : '?')).padEnd(5);
  const parts = [formatTime(r['time']), options.color && level ? `\u001b[${level.color}m${levelName}\u001b[39m` : levelName];
  const component = r['component'] ?? r['name'];
  if (component !== undefined) parts.push(typeof component === 'string' ? escapeControls(component) : formatValue(component));
  if (typeof r['msg'] === 'string' && r['msg'] !== '') parts.push(escapeControls(r['msg']));
  for (const [key, value] of Object.entries(r)) {
    if (!OMITTED.has(key) && value !== undefined) parts.push(`${escapeControls(key)}=${formatValue(value)}`);
  }
  return `${parts.join(' ')}\n`;
}

/** A pino destination that writes each record to `out` as a human line. */
export function prettyDestination(out: { write(text: string): unknown }, options: { color?: boolean } = {}): { write(line: string): void } {
  return {
    write(chunk: string): void {
      // pino writes one record per call; split anyway, should a caller hand over several
      const lines = chunk.split('\n').filter((l) => l !== '');
      out.write(lines.map((l) => formatLogLine(l, options)).join(''));
    },
  };
}
