// Loads the admin configuration (docs/configuration.md): YAML, `${VAR}` substitution, every field validated once with its default.
import { loadTrustedKeys } from '../repository/signature.js';
import { readFile } from 'node:fs/promises';
import { dirname, join as joinPath, resolve } from 'node:path';
import { formatAddress } from '../common/address.js';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { parseYamlDocument, type ParsedYaml } from '../common/yaml.js';
import { readFleet } from '../fleet/config.js';
import { readConnectors } from './connectors.js';
import { substituteEnv } from './env.js';
import { FieldReader } from './fields.js';
import { fieldLines } from './lines.js';
import type { AdminConfig, AdminMode, Limits, OpsSettings, RepositorySettings, RouterSettings, Timeouts, TlsFiles } from './types.js';

interface ParseOptions {
  /** Name used in errors (the file path, or e.g. "<up>" for a built object). */
  file?: string;
  /** Where `${VAR}` values come from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Folder relative paths are resolved against (default: the file's folder, else cwd). */
  baseDir?: string;
  /** Refuse a config without `router.token` (`worker-admin admin` alone; `up` generates one). */
  requireRouterToken?: boolean;
}

const TOP_FIELDS = ['stateDir', 'mode', 'router', 'repository', 'ops', 'dryRunDir', 'timeouts', 'limits', 'connectors', 'fleet'] as const;
const MIN_TOKEN_LENGTH = 32;
const DEFAULT_STATE_DIR = '.worker-admin';

/** Reads and validates the admin config file; relative paths are relative to its folder. */
export async function loadAdminConfig(path: string, opts: { env?: NodeJS.ProcessEnv; requireRouterToken?: boolean } = {}): Promise<AdminConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new WorkerAdminError('CONFIG_INVALID', `${file}: cannot read the admin config: ${errorMessage(error)}`, { cause: error, details: { file } });
  }
  return parseAdminConfig(text, { ...opts, file, baseDir: dirname(file) });
}

/** Parses admin config YAML text (errors name `file`, the line when known, and the field). */
export function parseAdminConfig(text: string, opts: ParseOptions = {}): AdminConfig {
  const file = opts.file ?? '<admin config>';
  let parsed: ParsedYaml;
  try {
    parsed = parseYamlDocument(text, { file });
  } catch (error) {
    // One code for every refusal of the admin config; the YAML message already names file and line.
    throw new WorkerAdminError('CONFIG_INVALID', errorMessage(error), { cause: error, details: { file } });
  }
  const lines = fieldLines(parsed, text);
  return buildConfig(parsed.value, { ...opts, file }, lines);
}

/** Validates an admin config given as an object (tests, `up`), exactly like a file. */
export function parseAdminConfigObject(obj: unknown, opts: ParseOptions = {}): AdminConfig {
  return buildConfig(obj, { ...opts, file: opts.file ?? '<admin config>' }, new Map());
}

function buildConfig(value: unknown, opts: ParseOptions & { file: string }, lines: ReadonlyMap<string, number>): AdminConfig {
  const baseDir = resolve(opts.baseDir ?? (opts.file.startsWith('<') ? process.cwd() : dirname(resolve(opts.file))));
  const reader = new FieldReader(opts.file, baseDir, lines);
  const substituted = substituteEnv(value, opts.env ?? process.env, ({ field, reason }) => reader.fail(field, reason));
  const raw = reader.section(substituted, '', TOP_FIELDS);
  const stateDir = reader.path(raw['stateDir'], 'stateDir', DEFAULT_STATE_DIR);
  const config: AdminConfig = {
    file: opts.file,
    baseDir,
    stateDir,
    mode: reader.choice<AdminMode>(raw['mode'], 'mode', ['development', 'production'], 'development'),
    router: readRouter(reader, raw['router'], stateDir, opts.requireRouterToken ?? false),
    repository: readRepository(reader, raw['repository']),
    ops: readOps(reader, raw['ops']),
    dryRunDir: reader.path(raw['dryRunDir'], 'dryRunDir', joinPath(stateDir, 'dry-run')),
    timeouts: readTimeouts(reader, raw['timeouts']),
    limits: readLimits(reader, raw['limits']),
    connectors: readConnectors(reader, raw['connectors']),
    fleet: readFleet(reader, raw['fleet']),
  };
  return config;
}

function readRouter(reader: FieldReader, value: unknown, stateDir: string, requireToken: boolean): RouterSettings {
  const raw = reader.section(value, 'router', ['address', 'token', 'tls']);
  const address = reader.address(raw['address'], 'router.address', `unix:${joinPath(stateDir, 'router.sock')}`);
  const token = reader.optionalString(raw['token'], 'router.token');
  if (token === undefined && requireToken) {
    reader.fail('router.token', 'is required to run the admin alone (e.g. token: "${WORKER_ADMIN_TOKEN}")');
  }
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    reader.fail('router.token', `is ${token.length} characters, tokens need at least ${MIN_TOKEN_LENGTH}`);
  }
  return { address, target: formatAddress(address), token, tls: readTls(reader, raw['tls']) };
}

function readTls(reader: FieldReader, value: unknown): TlsFiles | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = reader.section(value, 'router.tls', ['ca', 'cert', 'key']);
  const file = (name: string): string | undefined =>
    reader.optionalString(raw[name], `router.tls.${name}`) === undefined ? undefined : reader.path(raw[name], `router.tls.${name}`, '');
  const tls = { ca: file('ca'), cert: file('cert'), key: file('key') };
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    reader.fail(tls.cert === undefined ? 'router.tls.cert' : 'router.tls.key', 'cert and key go together: give both or neither');
  }
  return tls.ca === undefined && tls.cert === undefined ? undefined : tls;
}

function readRepository(reader: FieldReader, value: unknown): RepositorySettings {
  const raw = reader.section(value, 'repository', ['url', 'timeout', 'retries', 'trustedKeys']);
  const text = reader.string(raw['url'], 'repository.url', 'http://127.0.0.1:8070/');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    reader.fail('repository.url', `${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') reader.fail('repository.url', `${JSON.stringify(text)}: only http and https repositories are supported`);
  if (url.search || url.hash) reader.fail('repository.url', `${JSON.stringify(text)}: a repository URL has no query or fragment`);
  const href = url.href.endsWith('/') ? url.href : `${url.href}/`;
  const timeoutMs = reader.duration(raw['timeout'], 'repository.timeout', '10s');
  if (timeoutMs <= 0) reader.fail('repository.timeout', 'must be above 0');
  return { url: href, timeoutMs, retries: reader.integer(raw['retries'], 'repository.retries', 3, 0, 20), trustedKeys: readTrustedKeys(reader, raw['trustedKeys']) };
}

// ed25519 public keys (PEM texts): checked here, once, so that a bad key is refused at start with its index.
function readTrustedKeys(reader: FieldReader, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((k) => typeof k !== 'string')) reader.fail('repository.trustedKeys', 'must be a list of PEM public keys (strings)');
  const pems = value as string[];
  try {
    loadTrustedKeys(pems);
  } catch (error) {
    reader.fail('repository.trustedKeys', (error as Error).message.replace(/^repository\.trustedKeys/, 'key '));
  }
  return pems;
}

function readOps(reader: FieldReader, value: unknown): OpsSettings {
  const raw = reader.section(value, 'ops', ['listen', 'otel']);
  return { listen: reader.address(raw['listen'], 'ops.listen', '127.0.0.1:8071'), otel: readOtel(reader, raw['otel']) };
}

function readOtel(reader: FieldReader, value: unknown): OpsSettings['otel'] {
  const raw = reader.section(value, 'ops.otel', ['endpoint', 'interval']);
  const endpoint = reader.string(raw['endpoint'], 'ops.otel.endpoint', '');
  if (endpoint !== '') {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      // refused below, with the field named
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      reader.fail('ops.otel.endpoint', `${JSON.stringify(endpoint)} is not an http(s) URL of an OTLP collector (e.g. "http://127.0.0.1:4318")`);
    }
  }
  const intervalMs = reader.duration(raw['interval'], 'ops.otel.interval', '60s');
  if (intervalMs <= 0) reader.fail('ops.otel.interval', 'must be above 0');
  return { endpoint, intervalMs };
}

function readTimeouts(reader: FieldReader, value: unknown): Timeouts {
  const raw = reader.section(value, 'timeouts', ['start', 'drain', 'kill', 'command', 'adminCommand', 'warmup']);
  const positive = (name: string, fallback: string): number => {
    const ms = reader.duration(raw[name], `timeouts.${name}`, fallback);
    if (ms <= 0) reader.fail(`timeouts.${name}`, 'must be above 0');
    return ms;
  };
  const timeouts: Timeouts = {
    startMs: positive('start', '30s'),
    drainMs: reader.duration(raw['drain'], 'timeouts.drain', '30s'),
    killMs: reader.duration(raw['kill'], 'timeouts.kill', '5s'),
    commandMs: positive('command', '30s'),
    adminCommandMs: positive('adminCommand', '10m'),
    warmupMs: reader.duration(raw['warmup'], 'timeouts.warmup', '2s'),
  };
  if (timeouts.startMs >= timeouts.adminCommandMs) {
    reader.fail('timeouts.start', `(${timeouts.startMs} ms) must be below timeouts.adminCommand (${timeouts.adminCommandMs} ms): ADMIN_START_WORKER must be able to report a start timeout`);
  }
  return timeouts;
}

function readLimits(reader: FieldReader, value: unknown): Limits {
  const raw = reader.section(value, 'limits', ['zipBytes', 'unpackedBytes', 'entries', 'ratio', 'yamlBytes', 'yamlAliases', 'messageBytes', 'queue', 'instances', 'outputRate', 'outputBurst', 'lineBytes']);
  const size = (name: string, fallback: string): number => {
    const bytes = reader.size(raw[name], `limits.${name}`, fallback);
    if (bytes <= 0) reader.fail(`limits.${name}`, 'must be above 0');
    return bytes;
  };
  const count = (name: string, fallback: number, min = 1): number => reader.integer(raw[name], `limits.${name}`, fallback, min);
  return {
    zipBytes: size('zipBytes', '100MiB'),
    unpackedBytes: size('unpackedBytes', '500MiB'),
    entries: count('entries', 10_000),
    ratio: count('ratio', 1000),
    yamlBytes: size('yamlBytes', '1MiB'),
    yamlAliases: count('yamlAliases', 100, 0),
    messageBytes: size('messageBytes', '4MiB'),
    queue: count('queue', 10_000),
    instances: count('instances', 500),
    outputRate: count('outputRate', 1000),
    outputBurst: count('outputBurst', 10_000),
    lineBytes: size('lineBytes', '16KiB'),
  };
}
