// The body of a batch message (docs/fleet.md, batches), which has no headers (its subject says it is a batch): the JSON
// of `{v, from, …, items}`, each item with its payload's length `n` in UTF-16 code units, a newline, then the payloads
// one after another. The payloads are never re-encoded into JSON, and the length survives UTF-8 (a lone surrogate
// becomes U+FFFD, one unit too).

/** One item as the sender gathers it: its JSON (with `n`), its payload, and for a command its message id. */
export interface BatchEntry {
  json: string;
  payload: string;
  id?: string;
}

/** An item's JSON, `fields` (a non-empty object) plus the length of `payload`. */
export function batchEntry(fields: object, payload: string, id?: string): BatchEntry {
  const json = JSON.stringify(fields);
  const entry: BatchEntry = { json: `${json.slice(0, -1)},"n":${payload.length}}`, payload };
  if (id !== undefined) entry.id = id;
  return entry;
}

/** At least the UTF-8 bytes of `text` (exact for long strings, where the bound could refuse what fits). */
function utf8Bound(text: string): number {
  return text.length <= 16_384 ? text.length * 3 : Buffer.byteLength(text, 'utf8');
}

/** At least the bytes an entry adds to a batch body. */
export function entryBound(entry: BatchEntry): number {
  return utf8Bound(entry.json) + 1 + utf8Bound(entry.payload);
}

/** The body text of a batch: `head` is the JSON of the batch's other fields, a non-empty object (`{"v":1,…}`). */
export function encodeBatch(head: string, entries: readonly BatchEntry[]): string {
  let json = '';
  let payloads = '';
  for (const entry of entries) {
    json += json === '' ? entry.json : `,${entry.json}`;
    payloads += entry.payload;
  }
  return `${head.slice(0, -1)},"items":[${json}]}\n${payloads}`;
}

interface DecodedBatch {
  head: Record<string, unknown>;
  items: Array<{ item: Record<string, unknown>; payload: string }>;
}

/** The head and the items of a batch body, or undefined when it is not one (a malformed message is refused whole). */
export function decodeBatch(text: string): DecodedBatch | undefined {
  const newline = text.indexOf('\n');
  if (newline < 0) return undefined;
  let head: unknown;
  try {
    head = JSON.parse(text.slice(0, newline));
  } catch {
    return undefined;
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) return undefined;
  const list = (head as Record<string, unknown>)['items'];
  if (!Array.isArray(list)) return undefined;
  const items: DecodedBatch['items'] = [];
  let at = newline + 1;
  for (const item of list as unknown[]) {
    const n = (item as { n?: unknown } | null)?.n;
    if (typeof item !== 'object' || item === null || typeof n !== 'number' || !Number.isInteger(n) || n < 0 || at + n > text.length) return undefined;
    items.push({ item: item as Record<string, unknown>, payload: text.slice(at, at + n) });
    at += n;
  }
  if (at !== text.length) return undefined;
  return { head: head as Record<string, unknown>, items };
}
