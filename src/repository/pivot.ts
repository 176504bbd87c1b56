// The pivot ({major}_configuration.yaml): commands and events with JSON Schemas, compiled once with ajv.
import type { ValidateFunction } from 'ajv';
import { WorkerAdminError } from '../common/errors.js';
import { createAjv } from '../common/json-schema.js';
import { COMMAND_RE, quoteName } from '../common/names.js';
import { parseYamlDocument, type YamlLimits } from '../common/yaml.js';

/** One command or event of the pivot; `schema` is JSON Schema draft-07. */
interface PivotEntry {
  name: string;
  schema: Record<string, unknown> | boolean;
}

/** The pivot language of one major. */
export interface Pivot {
  commands: PivotEntry[];
  events: PivotEntry[];
}

/** A pivot with its schemas compiled; `check*` return null when valid, else the reason. */
interface CompiledPivot {
  pivot: Pivot;
  commandNames: string[];
  eventNames: string[];
  checkCommand(name: string, payload: unknown): string | null;
  checkEvent(name: string, payload: unknown): string | null;
}

/** Parses a pivot YAML text; errors name the file and the command or event. */
export function parsePivotYaml(text: string, limits: YamlLimits): Pivot {
  return parsePivotValue(parseYamlDocument(text, limits).value, limits.file);
}

/** Checks a pivot already decoded (YAML or stored JSON). */
export function parsePivotValue(value: unknown, where: string): Pivot {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WorkerAdminError('PIVOT_INVALID', `${where}: expected a mapping with commands and events`);
  }
  const r = value as Record<string, unknown>;
  for (const field of Object.keys(r)) {
    if (field !== 'commands' && field !== 'events') throw new WorkerAdminError('PIVOT_INVALID', `${where}: unknown field ${quoteName(field)} (expected commands, events)`);
  }
  return { commands: parseEntries(r['commands'], `${where} commands`), events: parseEntries(r['events'], `${where} events`) };
}

function parseEntries(value: unknown, where: string): PivotEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new WorkerAdminError('PIVOT_INVALID', `${where}: expected a list`);
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    const r = (item ?? {}) as Record<string, unknown>;
    const name = r['name'];
    if (typeof item !== 'object' || typeof name !== 'string' || !COMMAND_RE.test(name)) {
      throw new WorkerAdminError('PIVOT_INVALID', `${where} item ${index + 1}: name ${quoteName(name)} is invalid: it must match ${COMMAND_RE.source}`);
    }
    if (seen.has(name)) throw new WorkerAdminError('PIVOT_INVALID', `${where}: ${name} is listed twice`);
    seen.add(name);
    const schema = r['schema'] ?? {};
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || Array.isArray(schema))) {
      throw new WorkerAdminError('PIVOT_INVALID', `${where}: ${name}: schema must be a JSON Schema object`);
    }
    return { name, schema: schema as PivotEntry['schema'] };
  });
}

/** Compiles every schema once; PIVOT_INVALID naming the command or event whose schema does not compile. */
export function compilePivot(pivot: Pivot): CompiledPivot {
  const ajv = createAjv();
  const compile = (entries: PivotEntry[], kind: string): Map<string, ValidateFunction> =>
    new Map(entries.map((e) => {
      try {
        return [e.name, ajv.compile(e.schema)];
      } catch (error) {
        throw new WorkerAdminError('PIVOT_INVALID', `${kind} ${e.name}: schema does not compile: ${(error as Error).message}`, { cause: error });
      }
    }));
  const commands = compile(pivot.commands, 'command');
  const events = compile(pivot.events, 'event');
  const check = (map: Map<string, ValidateFunction>, kind: string) => (name: string, payload: unknown): string | null => {
    const validate = map.get(name);
    if (!validate) return `${kind} ${name} is not in the pivot`;
    if (validate(payload)) return null;
    return `${kind} ${name}: payload ${ajv.errorsText(validate.errors, { dataVar: 'payload' })}`;
  };
  return {
    pivot,
    commandNames: [...commands.keys()],
    eventNames: [...events.keys()],
    checkCommand: check(commands, 'command'),
    checkEvent: check(events, 'event'),
  };
}
