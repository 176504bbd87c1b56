// The immutability rules of published versions (docs/repository.md): checked by `publish` against the remote
// repository and by `pack --out` against the tree it writes into, before anything is written.
import { isDeepStrictEqual } from 'node:util';
import { errorMessage } from '../common/errors.js';
import { parseKeysYaml, type KeyDefinition } from '../repository/keys.js';
import { classifyPath } from '../repository/layout.js';
import { parsePivotYaml } from '../repository/pivot.js';
import { parseVersionsYaml, type VersionEntry } from '../repository/versions.js';

/** Reads one repository file by relative path; null when absent. */
type RepositoryReader = (path: string) => Promise<Buffer | null>;

/** What is about to be written: yaml files by relative path, and versions with their new zip's sha256. */
interface ImmutabilityCandidate {
  yaml: ReadonlyMap<string, Buffer>;
  versions: ReadonlyArray<{ type: string; product: string; version: string; sha256: string; zip: string }>;
}

/** One broken rule: the file and the rule, in words that say what to do instead. */
interface Violation {
  file: string;
  rule: string;
}

const RULES = {
  zip: 'a published version\'s zip never changes: publish a new version',
  minor: 'a published version\'s own keys (layer 4) never change: publish a new version',
  layer: 'keys layers 1-3 may only gain keys that have a default (or change descriptions): publish a new version or major',
  pivot: 'a major\'s pivot never changes once a version of it is listed: a new command is a new major',
};

/** Every rule the candidate breaks against what `read` finds; [] when it may be written. */
export async function immutabilityViolations(read: RepositoryReader, candidate: ImmutabilityCandidate): Promise<Violation[]> {
  const listedCache = new Map<string, Promise<VersionEntry[]>>();
  const listed = (type: string, product: string): Promise<VersionEntry[]> => {
    const path = `${type}/${product}/versions.yaml`;
    let found = listedCache.get(path);
    if (!found) listedCache.set(path, (found = read(path).then((b) => (b ? parseVersionsYaml(b.toString('utf8'), { file: path }) : []))));
    return found;
  };
  const out: Violation[] = [];
  for (const v of candidate.versions) {
    const was = (await listed(v.type, v.product)).find((e) => e.version === v.version);
    if (was?.sha256 !== undefined && was.sha256 !== v.sha256) {
      out.push({ file: v.zip, rule: `${RULES.zip} (${v.type}/${v.product}@${v.version}: published sha256 ${was.sha256}, local ${v.sha256})` });
    }
  }
  for (const [path, data] of candidate.yaml) {
    const file = classifyPath(path.split('/'));
    if (!file || (file.kind !== 'pivot' && file.kind !== 'keys')) continue;
    const before = await read(path);
    if (before === null || before.equals(data)) continue;
    if (file.kind === 'pivot') {
      const majors = (await listed(file.type, file.product)).map((e) => Number(e.version.split('.')[0]));
      if (majors.includes(file.major) && !samePivot(path, before, data)) out.push({ file: path, rule: RULES.pivot });
      continue;
    }
    if (file.layer === 'minor') {
      const version = `${file.major}.${file.minor}`;
      if ((await listed(file.type, file.product!)).some((e) => e.version === version)) out.push({ file: path, rule: RULES.minor });
      continue;
    }
    const broken = layerChanges(path, file.layer, before, data);
    if (broken) out.push({ file: path, rule: `${RULES.layer} (${broken})` });
  }
  return out;
}

/** The violations as one message: each file and its rule on its own line. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.file}: ${v.rule}`).join('\n');
}

function samePivot(path: string, a: Buffer, b: Buffer): boolean {
  try {
    return isDeepStrictEqual(parsePivotYaml(a.toString('utf8'), { file: path }), parsePivotYaml(b.toString('utf8'), { file: path }));
  } catch {
    return false;
  }
}

// What makes a new layer 1-3 incompatible with the published one, or null: removed or changed keys, new keys without default.
function layerChanges(path: string, layer: 'type' | 'product' | 'major', before: Buffer, after: Buffer): string | null {
  let old: KeyDefinition[];
  let now: KeyDefinition[];
  try {
    old = parseKeysYaml(before.toString('utf8'), layer, { file: path }).keys;
    now = parseKeysYaml(after.toString('utf8'), layer, { file: path }).keys;
  } catch (error) {
    return errorMessage(error);
  }
  const byName = new Map(now.map((k) => [k.name, k]));
  const problems: string[] = [];
  for (const k of old) {
    const n = byName.get(k.name);
    if (!n) problems.push(`key ${k.name} removed`);
    else if (!isDeepStrictEqual({ ...k, description: undefined }, { ...n, description: undefined })) problems.push(`key ${k.name} changed`);
  }
  const oldNames = new Set(old.map((k) => k.name));
  for (const n of now) if (!oldNames.has(n.name) && n.default === undefined) problems.push(`new key ${n.name} has no default`);
  return problems.length > 0 ? problems.join(', ') : null;
}
