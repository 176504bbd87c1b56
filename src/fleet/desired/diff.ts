// What an apply changes, field by field, as people read it: `+ utils/echo instances 6`, `~ utils/echo instances 6 → 3`,
// `- mail/smtp` (docs/fleet.md, desired state). Pure: the store decides what to write from the same comparison.
import { productKey } from '../../common/names.js';
import { formatDurationExact } from '../../common/units.js';
import type { Change, DesiredEntry } from './types.js';

const NONE = '(none)';

/** Every compared field of an entry with its value (compared as JSON) and its display text, in a fixed order. */
function fieldsOf(entry: DesiredEntry): Map<string, { value: unknown; text: string }> {
  const fields = new Map<string, { value: unknown; text: string }>();
  const add = (name: string, value: unknown, text: string): void => void fields.set(name, { value: value ?? null, text });
  add('versions', entry.versions, entry.versions.join(', '));
  add('instances', entry.instances, String(entry.instances));
  const hosts = Object.keys(entry.hosts).sort();
  add('hosts', hosts.map((k) => [k, entry.hosts[k]]), hosts.length === 0 ? '(every host)' : hosts.map((k) => `${k}=${entry.hosts[k]}`).join(','));
  for (const key of Object.keys(entry.config).sort()) add(`config.${key}`, entry.config[key], configText(entry.config[key]!));
  const u = entry.update;
  add('update.mode', u.mode, u.mode);
  add('update.interval', u.intervalMs, formatDurationExact(u.intervalMs));
  add('update.range', u.range, u.range ?? NONE);
  add('update.at', u.at, u.at ?? NONE);
  add('update.maxParallel', u.maxParallel, String(u.maxParallel));
  add('update.canary', u.canary, String(u.canary));
  add('update.minHealthy', u.minHealthyMs, formatDurationExact(u.minHealthyMs));
  add('restart', entry.restart, entry.restart);
  return fields;
}

// A string that reads as a number, a boolean or nothing is quoted, so that `1 → "1"` shows what changed.
function configText(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value);
  return value.trim() === '' || value === 'true' || value === 'false' || !Number.isNaN(Number(value)) ? JSON.stringify(value) : value;
}

/** The changes of one connector from `before` to `after` (none when they declare the same). */
export function diffEntry(before: DesiredEntry, after: DesiredEntry): Change[] {
  const product = productKey(after);
  const a = fieldsOf(before);
  const b = fieldsOf(after);
  const names = [...b.keys(), ...[...a.keys()].filter((name) => !b.has(name))];
  const changes: Change[] = [];
  for (const field of names) {
    const from = a.get(field);
    const to = b.get(field);
    if (JSON.stringify(from?.value) === JSON.stringify(to?.value)) continue;
    changes.push({ op: '~', product, field, from: from?.text ?? NONE, to: to?.text ?? NONE });
  }
  return changes;
}

/** The changes from the stored connectors to the file's, products in name order. */
export function diffDesired(current: readonly DesiredEntry[], next: readonly DesiredEntry[]): Change[] {
  const before = new Map(current.map((e) => [productKey(e), e]));
  const after = new Map(next.map((e) => [productKey(e), e]));
  const products = [...new Set([...before.keys(), ...after.keys()])].sort();
  return products.flatMap((product): Change[] => {
    const was = before.get(product);
    const will = after.get(product);
    if (!was) return [{ op: '+', product, field: 'instances', to: String(will!.instances) }];
    if (!will) return [{ op: '-', product }];
    return diffEntry(was, will);
  });
}

/** `+ utils/echo instances 6`, `~ utils/echo instances 6 → 3`, `- mail/smtp`. */
export function renderChange(change: Change): string {
  const parts: string[] = [change.op, change.product];
  if (change.field !== undefined) parts.push(change.field);
  if (change.from !== undefined) parts.push(change.from, '→');
  if (change.to !== undefined) parts.push(change.to);
  return parts.join(' ');
}
