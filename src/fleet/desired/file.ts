// A desired-state file (docs/fleet.md, desired state): admin.yaml's `connectors:` plus instances, hosts and the
// rollout's update fields, validated once; errors name the file, the line and the field. Nothing is substituted.
import { WorkerAdminError, errorMessage } from '../../common/errors.js';
import { parseYamlDocument, type ParsedYaml } from '../../common/yaml.js';
import { HOST_CONNECTOR_FIELDS, readConnectorList, readSharedConnector, SHARED_CONNECTOR_FIELDS, versionSpecText } from '../../config/connectors.js';
import { referenceProblem } from '../../config/env.js';
import { describe, FieldReader } from '../../config/fields.js';
import { fieldLines } from '../../config/lines.js';
import { readLabels } from '../config.js';
import type { DesiredEntry } from './types.js';

/** One etcd transaction writes a whole apply: etcd's default `--max-txn-ops` is 128. */
const MAX_DESIRED_PRODUCTS = 100;
const MAX_INSTANCES = 10_000;
const CONNECTOR_FIELDS = [...SHARED_CONNECTOR_FIELDS, 'instances', 'hosts'] as const;
const ROLLOUT_FIELDS = ['maxParallel', 'canary', 'minHealthy'] as const;

/** Parses and validates a desired-state text; `file` names it in errors (`desired.yaml:7: connectors[0].instances: …`). */
export function parseDesiredFile(text: string, file: string): DesiredEntry[] {
  return readDesiredFile(text, file).entries;
}

/** The entries, and `fail` for later checks (secrets) to name a field's line the same way. */
export function readDesiredFile(text: string, file: string): { entries: DesiredEntry[]; fail: (field: string, reason: string) => never } {
  let parsed: ParsedYaml;
  try {
    parsed = parseYamlDocument(text, { file });
  } catch (error) {
    // one code for every refusal of the file; the YAML message already names it and the line
    throw new WorkerAdminError('CONFIG_INVALID', errorMessage(error), { cause: error, details: { file } });
  }
  const reader = new FieldReader(file, '.', fieldLines(parsed, text), 'colon');
  if (parsed.value === null) reader.fail('connectors', 'is required: list the fleet\'s connectors (`connectors: []` removes them all)');
  const raw = reader.section(parsed.value, '', ['connectors']);
  if (raw['connectors'] === undefined) reader.fail('connectors', 'is required: list the fleet\'s connectors (`connectors: []` removes them all)');
  const fail = (field: string, reason: string): never => reader.fail(field, reason);
  if (raw['connectors'] === null) return { entries: [], fail }; // `connectors:` with nothing under it
  const entries = readConnectorList(reader, raw['connectors'], readDesiredConnector);
  if (entries.length > MAX_DESIRED_PRODUCTS) {
    reader.fail('connectors', `lists ${entries.length} products: a desired state holds at most ${MAX_DESIRED_PRODUCTS} (it is written in one etcd transaction)`);
  }
  return { entries, fail };
}

function readDesiredConnector(reader: FieldReader, value: unknown, field: string): DesiredEntry {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const name of HOST_CONNECTOR_FIELDS) {
      if (name in value) reader.fail(`${field}.${name}`, `stays per host: set it in each host's admin.yaml, not in the desired state`);
    }
  }
  const raw = reader.section(value, field, CONNECTOR_FIELDS);
  const shared = readSharedConnector(reader, value, raw, field, ROLLOUT_FIELDS);
  for (const [key, item] of Object.entries(shared.config)) {
    const problem = typeof item === 'string' ? referenceProblem(item) : undefined;
    if (problem) reader.fail(`${field}.config.${key}`, problem);
  }
  const update = shared.update.raw;
  return {
    type: shared.type,
    product: shared.product,
    versions: shared.versions.map(versionSpecText),
    instances: count(reader, raw['instances'], `${field}.instances`, 1, 0, MAX_INSTANCES),
    hosts: readLabels(reader, raw['hosts'], `${field}.hosts`),
    config: { ...shared.config },
    update: {
      mode: shared.update.policy.mode,
      intervalMs: shared.update.policy.intervalMs,
      range: shared.update.policy.range,
      at: shared.update.policy.at,
      maxParallel: count(reader, update['maxParallel'], `${field}.update.maxParallel`, 1, 1, MAX_INSTANCES),
      canary: count(reader, update['canary'], `${field}.update.canary`, 0, 0, MAX_INSTANCES),
      minHealthyMs: reader.duration(update['minHealthy'], `${field}.update.minHealthy`, '10s'),
    },
    restart: shared.restart,
  };
}

// Counts are whole numbers as written: no `${VAR}` here, every host must read the same one.
function count(reader: FieldReader, value: unknown, field: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) reader.fail(field, `must be an integer ≥ ${min}, got ${describe(value)}`);
  if (value > max) reader.fail(field, `${value} is over ${max}`);
  return value;
}
