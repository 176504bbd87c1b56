// The `fleet:` section of the admin configuration (docs/fleet.md), validated once: durations in ms, prefix in both forms.
import type { FieldReader } from '../config/fields.js';

export const HOST_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PREFIX_RE = /^(\/[A-Za-z0-9_-]+)+$/;

export interface EngineTls {
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

export interface NatsSettings {
  servers: string[];
  tls: EngineTls | undefined;
  /** A NATS credentials file (JWT + nkey seed), or undefined. */
  credentials: string | undefined;
  /** User and password (secrets via ${ENV}). */
  user: string | undefined;
  password: string | undefined;
}

export interface EtcdSettings {
  endpoints: string[];
  tls: EngineTls | undefined;
  username: string | undefined;
  password: string | undefined;
}

export interface FleetConfig {
  host: string;
  labels: Record<string, string>;
  /** Most fleet-managed instances placed on this host; undefined: no limit. */
  capacity: number | undefined;
  nats: NatsSettings;
  etcd: EtcdSettings;
  /** etcd key prefix, e.g. `/worker-admin` (no trailing slash). */
  prefix: string;
  /** The same prefix as NATS subject tokens, e.g. `worker-admin`. */
  subjectPrefix: string;
  leaseTtlMs: number;
  reassignAfterMs: number;
}

const FIELDS = ['host', 'labels', 'capacity', 'nats', 'etcd', 'prefix', 'leaseTtl', 'reassignAfter'] as const;

/** Reads `fleet:`; undefined when the section is absent (a single host). */
export function readFleet(reader: FieldReader, value: unknown): FleetConfig | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = reader.section(value, 'fleet', FIELDS);
  const host = reader.string(raw['host'], 'fleet.host', '');
  if (!HOST_NAME_RE.test(host)) reader.fail('fleet.host', `${JSON.stringify(host)} is not a host name (${HOST_NAME_RE.source})`);
  const prefix = reader.string(raw['prefix'], 'fleet.prefix', '/worker-admin');
  if (!PREFIX_RE.test(prefix)) reader.fail('fleet.prefix', `${JSON.stringify(prefix)} must look like /name or /name/sub (letters, digits, _ and -)`);
  const leaseTtlMs = reader.duration(raw['leaseTtl'], 'fleet.leaseTtl', '10s');
  if (leaseTtlMs < 2000) reader.fail('fleet.leaseTtl', `${leaseTtlMs} ms is too short: etcd keeps leases of at least 2s`);
  const reassignAfterMs = reader.duration(raw['reassignAfter'], 'fleet.reassignAfter', '5m');
  if (reassignAfterMs < 2 * leaseTtlMs) reader.fail('fleet.reassignAfter', `(${reassignAfterMs} ms) must be at least 2 x fleet.leaseTtl (${2 * leaseTtlMs} ms)`);
  return {
    host,
    labels: readLabels(reader, raw['labels'], 'fleet.labels'),
    capacity: raw['capacity'] === undefined || raw['capacity'] === null ? undefined : reader.integer(raw['capacity'], 'fleet.capacity', 0, 0),
    nats: readNats(reader, raw['nats']),
    etcd: readEtcd(reader, raw['etcd']),
    prefix,
    subjectPrefix: prefix.slice(1).replaceAll('/', '.'),
    leaseTtlMs,
    reassignAfterMs,
  };
}

/** Labels (`fleet.labels`, a desired connector's `hosts` selector): names checked, values as strings. */
export function readLabels(reader: FieldReader, value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) reader.fail(field, 'must be a mapping of label to value');
  const labels: Record<string, string> = {};
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    if (!LABEL_RE.test(name)) reader.fail(`${field}.${name}`, `is not a label name (${LABEL_RE.source})`);
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') reader.fail(`${field}.${name}`, 'must be a string');
    labels[name] = String(v);
  }
  return labels;
}

function readList(reader: FieldReader, value: unknown, field: string, fallback: string, schemes: string[]): string[] {
  const list = value === undefined || value === null ? [fallback] : value;
  if (!Array.isArray(list) || list.length === 0) reader.fail(field, 'must be a non-empty list of URLs');
  return list.map((item, i) => {
    if (typeof item !== 'string') reader.fail(`${field}[${i}]`, 'must be a URL string');
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      reader.fail(`${field}[${i}]`, `${JSON.stringify(item)} is not a URL`);
    }
    if (!schemes.includes(url.protocol)) reader.fail(`${field}[${i}]`, `${JSON.stringify(item)}: the scheme must be one of ${schemes.join(', ')}`);
    return item;
  });
}

function readTls(reader: FieldReader, value: unknown, field: string): EngineTls | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = reader.section(value, field, ['ca', 'cert', 'key']);
  const file = (name: string): string | undefined =>
    reader.optionalString(raw[name], `${field}.${name}`) === undefined ? undefined : reader.path(raw[name], `${field}.${name}`, '');
  const tls = { ca: file('ca'), cert: file('cert'), key: file('key') };
  if ((tls.cert === undefined) !== (tls.key === undefined)) reader.fail(`${field}.${tls.cert === undefined ? 'cert' : 'key'}`, 'cert and key go together: give both or neither');
  return tls;
}

function readNats(reader: FieldReader, value: unknown): NatsSettings {
  const raw = reader.section(value, 'fleet.nats', ['servers', 'tls', 'credentials', 'user', 'password']);
  const credentials = reader.optionalString(raw['credentials'], 'fleet.nats.credentials');
  const user = reader.optionalString(raw['user'], 'fleet.nats.user');
  const password = reader.optionalString(raw['password'], 'fleet.nats.password');
  if ((user === undefined) !== (password === undefined)) reader.fail('fleet.nats.password', 'user and password go together');
  return {
    servers: readList(reader, raw['servers'], 'fleet.nats.servers', 'nats://127.0.0.1:4222', ['nats:', 'tls:']),
    tls: readTls(reader, raw['tls'], 'fleet.nats.tls'),
    credentials: credentials === undefined ? undefined : reader.path(credentials, 'fleet.nats.credentials', ''),
    user,
    password,
  };
}

function readEtcd(reader: FieldReader, value: unknown): EtcdSettings {
  const raw = reader.section(value, 'fleet.etcd', ['endpoints', 'tls', 'username', 'password']);
  const username = reader.optionalString(raw['username'], 'fleet.etcd.username');
  const password = reader.optionalString(raw['password'], 'fleet.etcd.password');
  if ((username === undefined) !== (password === undefined)) reader.fail('fleet.etcd.password', 'username and password go together');
  return {
    endpoints: readList(reader, raw['endpoints'], 'fleet.etcd.endpoints', 'http://127.0.0.1:2379', ['http:', 'https:']),
    tls: readTls(reader, raw['tls'], 'fleet.etcd.tls'),
    username,
    password,
  };
}
