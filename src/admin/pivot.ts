// The admin's own pivot (src/admin/configuration.yaml): its commands' payload schemas, compiled once.
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { WorkerAdminError } from '../common/errors.js';
import { createAjv } from '../common/json-schema.js';
import { parseYaml } from '../common/yaml.js';

// Same path from src/admin/*.ts (tests) and dist/admin/*.js (built): both sit two levels under the root.
const PIVOT_URL = new URL('../../src/admin/configuration.yaml', import.meta.url);

interface PivotEntry { name: string; schema: object }
interface AdminPivot {
  commands: string[];
  events: string[];
  schemas: Record<string, string>;
  validate(command: string, payload: unknown): void;
}

let cached: AdminPivot | undefined;

/** Loads and compiles the admin pivot once per process. */
export function adminPivot(): AdminPivot {
  if (cached) return cached;
  const doc = parseYaml(readFileSync(PIVOT_URL, 'utf8'), { file: 'src/admin/configuration.yaml' }) as { commands: PivotEntry[]; events: PivotEntry[] };
  const ajv = createAjv({ allErrors: true });
  const validators = new Map<string, ValidateFunction>();
  for (const c of doc.commands) validators.set(c.name, ajv.compile(c.schema));
  cached = {
    commands: doc.commands.map((c) => c.name),
    events: doc.events.map((e) => e.name),
    schemas: Object.fromEntries(doc.commands.map((c) => [c.name, JSON.stringify(c.schema)])),
    validate(command, payload) {
      const validate = validators.get(command);
      if (!validate) throw new WorkerAdminError('UNKNOWN_COMMAND', `${command} is not an admin command`);
      if (!validate(payload)) {
        const detail = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`).join('; ');
        throw new WorkerAdminError('PAYLOAD_INVALID', `${command} payload is invalid: ${detail}`);
      }
    },
  };
  return cached;
}
