// Safe YAML: size cap, alias count on the event stream before any object is built, errors naming file and line.
import { constructFromEvents, parseEvents, YAMLException, EVENT_ID, SCALAR_STYLE, type Event as YamlEvent } from 'js-yaml';
import { WorkerAdminError } from './errors.js';

export interface YamlLimits {
  /** Name used in errors (a path or URL). */
  file: string;
  /** Largest accepted text in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Most aliases (`*ref`) accepted (default 100). */
  maxAliases?: number;
}

export const DEFAULT_YAML_BYTES = 1024 * 1024;
export const DEFAULT_YAML_ALIASES = 100;

/** A parsed document with its event stream, for callers that need source lines of scalars. */
export interface ParsedYaml {
  value: unknown;
  events: YamlEvent[];
  /** 1-based line of a character offset in the text. */
  lineAt(offset: number): number;
  /** The document's nodes with their lines (null for an empty document), for shape errors naming a line. */
  tree(): YamlNode | null;
}

/** A node of the document as written, with the 1-based line where it starts. */
export type YamlNode =
  | { kind: 'scalar'; line: number; plain: boolean }
  | { kind: 'alias'; line: number }
  | { kind: 'sequence'; line: number; items: YamlNode[] }
  | { kind: 'mapping'; line: number; pairs: Array<[YamlNode, YamlNode]> };

/** Parses one YAML document under the limits; throws YAML_INVALID / LIMIT_EXCEEDED naming the file (and line). */
export function parseYamlDocument(text: string, limits: YamlLimits): ParsedYaml {
  const maxBytes = limits.maxBytes ?? DEFAULT_YAML_BYTES;
  const maxAliases = limits.maxAliases ?? DEFAULT_YAML_ALIASES;
  const size = Buffer.byteLength(text);
  if (size > maxBytes) {
    throw new WorkerAdminError('LIMIT_EXCEEDED', `${limits.file}: YAML is ${size} bytes, over the yamlBytes limit of ${maxBytes}`);
  }
  let events: YamlEvent[];
  try {
    events = parseEvents(text, { filename: limits.file });
  } catch (error) {
    throw yamlError(limits.file, error);
  }
  const aliases = events.reduce((n, e) => (e.type === EVENT_ID.ALIAS ? n + 1 : n), 0);
  if (aliases > maxAliases) {
    throw new WorkerAdminError('LIMIT_EXCEEDED', `${limits.file}: YAML has ${aliases} aliases, over the yamlAliases limit of ${maxAliases}`);
  }
  let docs: unknown[];
  try {
    docs = constructFromEvents(events, { source: text, filename: limits.file, maxAliases });
  } catch (error) {
    throw yamlError(limits.file, error);
  }
  if (docs.length > 1) {
    throw new WorkerAdminError('YAML_INVALID', `${limits.file}: expected one YAML document, found ${docs.length}`);
  }
  const newlines: number[] = [];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  let root: YamlNode | null | undefined;
  const tree = (): YamlNode | null => (root ??= buildTree(events, lineAt));
  return { value: docs[0] ?? null, events, lineAt, tree };
}

// Rebuilds the first document's node tree from the flat event stream (events are already validated).
function buildTree(events: YamlEvent[], lineAt: (offset: number) => number): YamlNode | null {
  const stack: Array<Extract<YamlNode, { kind: 'sequence' | 'mapping' }> & { pending?: YamlNode }> = [];
  let root: YamlNode | null = null;
  const attach = (node: YamlNode): void => {
    const parent = stack[stack.length - 1];
    if (!parent) root ??= node;
    else if (parent.kind === 'sequence') parent.items.push(node);
    else if (parent.pending === undefined) parent.pending = node;
    else {
      parent.pairs.push([parent.pending, node]);
      delete parent.pending;
    }
  };
  for (const event of events) {
    if (event.type === EVENT_ID.SCALAR) attach({ kind: 'scalar', line: lineAt(event.valueStart), plain: event.style === SCALAR_STYLE.PLAIN && event.tagStart === -1 });
    else if (event.type === EVENT_ID.ALIAS) attach({ kind: 'alias', line: lineAt(event.anchorStart) });
    else if (event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.MAPPING) {
      const node = event.type === EVENT_ID.SEQUENCE
        ? { kind: 'sequence' as const, line: lineAt(event.start), items: [] }
        : { kind: 'mapping' as const, line: lineAt(event.start), pairs: [] };
      attach(node);
      stack.push(node);
    } else if (event.type === EVENT_ID.POP) {
      if (stack.pop() === undefined && root !== null) break; // end of the first document
    }
  }
  return root;
}

/** Parses one YAML document under the limits and returns its value. */
export function parseYaml(text: string, limits: YamlLimits): unknown {
  return parseYamlDocument(text, limits).value;
}

function yamlError(file: string, error: unknown): WorkerAdminError {
  if (error instanceof YAMLException) {
    const where = error.mark ? ` (line ${error.mark.line + 1}, column ${error.mark.column + 1})` : '';
    return new WorkerAdminError('YAML_INVALID', `${file}${where}: ${error.reason}`, { cause: error });
  }
  return new WorkerAdminError('YAML_INVALID', `${file}: ${(error as Error).message}`, { cause: error });
}
