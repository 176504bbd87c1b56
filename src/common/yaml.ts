// Safe YAML: size cap, alias count on the event stream before any object is built, errors naming file and line.
import { constructFromEvents, parseEvents, YAMLException, EVENT_ID, type Event as YamlEvent } from 'js-yaml';
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
}

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
  return { value: docs[0] ?? null, events, lineAt };
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
