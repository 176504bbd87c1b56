// A POST /api/v1/policies body (YAML, docs/ops.md) into validated PolicySpecs; each refusal carries the exact detail text.
import semver from 'semver';
import { isWorkerAdminError, WorkerAdminError } from '../../common/errors.js';
import { assertCommandName, assertIdentifier, parseProductRef, VERSION_RE } from '../../common/names.js';
import { parseYaml } from '../../common/yaml.js';
import { validateCronExpression } from '../../common/cron.js';
import type { PolicySpec } from './policy.js';

/** Keys of `config` that steer the policy rather than give the instance a value. */
const RESERVED = ['package', 'schedule', 'command', 'dry_run'] as const;
const POLICY_FIELDS = ['config', 'scope'];
const DEFAULT_POLICY_COMMAND = 'RUN';

/** Throws POLICY_INVALID (400) unless the media type is application/x-yaml (parameters such as charset allowed). */
export function checkContentType(header: string | undefined): void {
  const media = (header ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/x-yaml') {
    throw new WorkerAdminError('POLICY_INVALID', "invalid Content-Type. Only 'application/x-yaml' is supported");
  }
}

/** Parses and validates every policy of the body; the first refusal wins (nothing is started by the caller then). */
export function parsePolicies(text: string, limits: { yamlBytes: number; yamlAliases: number }): PolicySpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { file: 'request body', maxBytes: limits.yamlBytes, maxAliases: limits.yamlAliases });
  } catch (error) {
    if (isWorkerAdminError(error, 'LIMIT_EXCEEDED')) throw new WorkerAdminError('POLICY_INVALID', error.message, { cause: error });
    throw new WorkerAdminError('POLICY_INVALID', 'Invalid YAML format', { cause: error });
  }
  const policies = isRecord(doc) ? doc['policies'] : undefined;
  if (policies === undefined || policies === null || (isRecord(policies) && Object.keys(policies).length === 0)) {
    throw new WorkerAdminError('POLICY_INVALID', 'no policies found in request');
  }
  if (!isRecord(policies)) throw invalid('policies must be a mapping of policy names to policies');
  return Object.entries(policies).map(([name, body]) => parsePolicy(name, body));
}

function parsePolicy(name: string, body: unknown): PolicySpec {
  if (!isRecord(body) || body['config'] === undefined || body['config'] === null) {
    throw new WorkerAdminError('POLICY_CONFIG_MISSING', 'config field is required');
  }
  try {
    assertIdentifier(name);
  } catch (error) {
    throw invalid(`policy name: ${(error as Error).message}`);
  }
  const unknown = Object.keys(body).filter((k) => !POLICY_FIELDS.includes(k));
  if (unknown.length > 0) throw invalid(`policy '${name}': unknown field ${quote(unknown[0]!)} (a policy has config and scope)`);
  const config = body['config'];
  if (!isRecord(config)) throw invalid(`policy '${name}': config must be a mapping`);
  const scope = body['scope'] ?? {};
  if (!isRecord(scope)) throw invalid(`policy '${name}': scope must be a mapping (it is the payload of the command)`);
  const values = Object.fromEntries(Object.entries(config).filter(([k]) => !(RESERVED as readonly string[]).includes(k)));
  return {
    name, ...packageOf(name, config['package']), schedule: scheduleOf(name, config['schedule']),
    command: commandOf(name, config['command']), dryRun: dryRunOf(name, config['dry_run']), values, scope,
  };
}

function packageOf(name: string, value: unknown): Pick<PolicySpec, 'type' | 'product' | 'range'> {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`policy '${name}': config.package is required ("type/product@range", e.g. "utils/echo@^1")`);
  const [ref, range, extra] = value.trim().split('@');
  if (extra !== undefined) throw invalid(`policy '${name}': config.package ${quote(value)} has more than one "@"`);
  let parsed: { type: string; product: string };
  try {
    parsed = parseProductRef(ref);
  } catch (error) {
    throw invalid(`policy '${name}': config.package: ${(error as Error).message}`);
  }
  if (range !== undefined && range !== 'latest' && !VERSION_RE.test(range) && semver.validRange(range) === null) {
    throw invalid(`policy '${name}': config.package ${quote(value)}: ${quote(range)} is neither a version ("1.2") nor a semver range ("^1", "~1.2", "1.x", "*", "latest")`);
  }
  return { ...parsed, range };
}

function scheduleOf(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return validateCronExpression(value, 'config.schedule');
  } catch (error) {
    throw invalid(`policy '${name}': ${(error as Error).message}`);
  }
}

function commandOf(name: string, value: unknown): string {
  if (value === undefined || value === null) return DEFAULT_POLICY_COMMAND;
  try {
    return assertCommandName(value);
  } catch (error) {
    throw invalid(`policy '${name}': config.command: ${(error as Error).message}`);
  }
}

function dryRunOf(name: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalid(`policy '${name}': config.dry_run must be true or false, got ${quote(value)}`);
  return value;
}

function invalid(detail: string): WorkerAdminError {
  return new WorkerAdminError('POLICY_INVALID', detail);
}

function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
