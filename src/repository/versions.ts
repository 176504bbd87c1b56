// versions.yaml (both forms of docs/repository.md) parsed with lines, and semver resolution of major.minor versions.
import semver from 'semver';
import { WorkerAdminError } from '../common/errors.js';
import { VERSION_RE, quoteName } from '../common/names.js';
import { parseYamlDocument, type YamlLimits, type YamlNode } from '../common/yaml.js';

/** One listed version; `sha256` (lower-case hex) and the publisher's `signature` (base64 ed25519) when the repository gives them. */
export interface VersionEntry {
  version: string;
  sha256?: string;
  signature?: string;
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const FIELDS = ['version', 'sha256', 'signature'];

/** Parses versions.yaml text: a list of "M.m" strings or {version, sha256} entries; refuses numbers and bad versions naming the line. */
export function parseVersionsYaml(text: string, limits: YamlLimits): VersionEntry[] {
  return parseVersionList(text, limits, FIELDS).map(({ entry }) => entry);
}

/**
 * A versions.yaml-shaped list whose mapping items may carry `fields` (yanked.yaml adds `reason`): each entry with
 * its other fields' raw values.
 */
export function parseVersionList(text: string, limits: YamlLimits, fields: readonly string[]): Array<{ entry: VersionEntry; extra: Record<string, unknown> }> {
  const parsed = parseYamlDocument(text, limits);
  const file = limits.file;
  if (parsed.value === null) return [];
  if (!Array.isArray(parsed.value)) {
    throw new WorkerAdminError('VERSION_INVALID', `${file}: expected a list of versions, found ${describe(parsed.value)}`);
  }
  const tree = parsed.tree();
  const items = tree?.kind === 'sequence' ? tree.items : [];
  const seen = new Set<string>();
  return parsed.value.map((item: unknown, index) => {
    const node = items[index];
    const line = node ? ` line ${node.line}` : ` item ${index + 1}`;
    const entry = parseEntry(item, node, `${file}${line}`, fields);
    if (seen.has(entry.version)) throw new WorkerAdminError('VERSION_INVALID', `${file}${line}: version "${entry.version}" is listed twice`);
    seen.add(entry.version);
    const record = item !== null && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : {};
    const extra = Object.fromEntries(Object.entries(record).filter(([k]) => !FIELDS.includes(k)));
    return { entry, extra };
  });
}

function parseEntry(item: unknown, node: YamlNode | undefined, where: string, fields: readonly string[]): VersionEntry {
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    const record = item as Record<string, unknown>;
    // Pairs come in source order, as do the object's (non-numeric) keys: the same index finds the value node.
    const versionNode = node?.kind === 'mapping' ? node.pairs[Object.keys(record).indexOf('version')]?.[1] : undefined;
    const at = versionNode ? where.replace(/line \d+$/, `line ${versionNode.line}`) : where;
    for (const key of Object.keys(record)) {
      if (!fields.includes(key)) throw new WorkerAdminError('VERSION_INVALID', `${where}: unknown field ${quoteName(key)} (expected ${fields.join(', ')})`);
    }
    const version = checkVersion(record['version'], at);
    const sha = record['sha256'];
    const signature = record['signature'];
    if (signature !== undefined && signature !== null && (typeof signature !== 'string' || !BASE64_RE.test(signature))) {
      throw new WorkerAdminError('VERSION_INVALID', `${where}: signature of version "${version}" must be base64, got ${quoteName(signature)}`);
    }
    const signed = typeof signature === 'string' ? { signature } : {};
    if (sha === undefined || sha === null) return { version, ...signed };
    if (typeof sha !== 'string' || !SHA256_RE.test(sha.toLowerCase())) {
      throw new WorkerAdminError('VERSION_INVALID', `${where}: sha256 of version "${version}" must be 64 hex characters, got ${quoteName(sha)}`);
    }
    return { version, sha256: sha.toLowerCase(), ...signed };
  }
  return { version: checkVersion(item, where) };
}

function checkVersion(value: unknown, where: string): string {
  if (typeof value === 'number') {
    throw new WorkerAdminError('VERSION_INVALID', `${where}: version ${String(value)} is an unquoted number (YAML reads 1.10 as 1.1): write it as a quoted string, e.g. "1.10"`);
  }
  if (typeof value !== 'string' || !VERSION_RE.test(value)) {
    throw new WorkerAdminError('VERSION_INVALID', `${where}: version ${quoteName(value)} is invalid: it must be a quoted "major.minor" string, e.g. "1.2"`);
  }
  return value;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'nothing' : `a ${typeof value}`;
}

/** "1.2" → "1.2.0", the form semver compares. */
export const toSemver = (version: string): string => `${version}.0`;

/** The semver range of "within the running major M": >=M.0.0 <M+1.0.0 (0.x included). */
export function withinMajor(major: number): string {
  return `>=${major}.0.0 <${major + 1}.0.0`;
}

/** The highest listed version satisfying `range` (`latest` = highest); VERSION_NOT_FOUND naming product and range. */
export function resolveVersion<T extends VersionEntry | string>(versions: readonly T[], range: string, product = 'product'): T {
  const wanted = range.trim() === '' || range === 'latest' ? '*' : range;
  if (VERSION_RE.test(wanted)) {
    const exact = versions.find((v) => versionOf(v) === wanted);
    if (exact) return exact;
    throw notFound(versions, range, product);
  }
  if (semver.validRange(wanted) === null) {
    throw new WorkerAdminError('VERSION_INVALID', `${product}: range ${quoteName(range)} is not a semver range (e.g. "^1", "~1.2", "1.x", "*", "latest")`);
  }
  let best: T | undefined;
  for (const v of versions) {
    const s = toSemver(versionOf(v));
    if (!semver.satisfies(s, wanted)) continue;
    if (best === undefined || semver.gt(s, toSemver(versionOf(best)))) best = v;
  }
  if (best === undefined) throw notFound(versions, range, product);
  return best;
}

function versionOf(v: VersionEntry | string): string {
  return typeof v === 'string' ? v : v.version;
}

function notFound(versions: readonly (VersionEntry | string)[], range: string, product: string): WorkerAdminError {
  const listed = versions.length === 0 ? 'no version is listed' : `listed: ${versions.map(versionOf).join(', ')}`;
  return new WorkerAdminError('VERSION_NOT_FOUND', `${product}: no version matches ${quoteName(range)} (${listed})`);
}
