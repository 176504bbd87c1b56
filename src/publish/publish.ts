// `publish`: packs a source tree, then uploads every version the repository lacks with the files it needs (keys
// layers, pivot, zip) and versions.yaml last, merged with a conditional request (docs/repository.md, publishing).
import type { KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';
import { packRepository } from '../packages/pack/pack.js';
import { keysPath, pivotPath, versionsPath, zipPath } from '../repository/paths.js';
import { signSha256 } from '../repository/signature.js';
import { parseVersionsYaml, type VersionEntry } from '../repository/versions.js';
import { versionsYamlText } from '../repository/yanked.js';
import { LAYER_NAMES } from '../repository/keys.js';
import { splitVersion } from '../common/names.js';
import { describeViolations, immutabilityViolations } from './immutability.js';
import { updateList } from './list-update.js';
import type { RemoteRepository } from './remote.js';

/** A version named on the command line (`--only`). */
export interface VersionRef {
  type: string;
  product: string;
  version: string;
}

/** Where `publish` says what it does: one line per file, or a progress bar per file on a terminal. */
export interface PublishReporter {
  line(text: string): void;
  warn(text: string): void;
  /** A progress display for one upload; undefined: lines only. */
  progress?(label: string): { update(sent: number, total: number): void; done(): void };
}

interface PublishOptions {
  src: string;
  remote: RemoteRepository;
  only?: readonly VersionRef[] | undefined;
  signKey?: KeyObject | undefined;
  dryRun?: boolean;
  force?: boolean;
  reporter: PublishReporter;
}

/** What one version came to. */
type VersionOutcome = 'new' | 'published' | 'replaced';

interface PublishResult {
  versions: Array<VersionRef & { sha256: string; outcome: VersionOutcome }>;
  /** Relative paths uploaded (or that would be, with dryRun), in order; versions.yaml files last. */
  uploads: string[];
}

const id = (v: VersionRef): string => `${v.type}/${v.product}@${v.version}`;

/** Packs and publishes; VERSION_IMMUTABLE (nothing uploaded) when a listed version's bytes or rules would change without `force`. */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const packed = await mkdtemp(join(tmpdir(), 'worker-admin-publish-'));
  try {
    return await publishPacked(opts, packed);
  } finally {
    await rm(packed, { recursive: true, force: true });
  }
}

async function publishPacked(opts: PublishOptions, dir: string): Promise<PublishResult> {
  const { remote, reporter } = opts;
  const pack = await packRepository({ src: opts.src, out: dir });
  const wanted = new Set((opts.only ?? []).map(id));
  const missing = [...wanted].filter((w) => !pack.versions.some((v) => id(v) === w));
  if (missing.length > 0) throw new WorkerAdminError('VERSION_NOT_FOUND', `--only names ${missing.join(', ')}, not in ${opts.src}`);
  const selected = pack.versions.filter((v) => wanted.size === 0 || wanted.has(id(v)));

  // 1. what the repository already lists
  const listed = new Map<string, VersionEntry[]>();
  for (const v of selected) {
    const path = versionsPath(v.type, v.product);
    if (listed.has(path)) continue;
    const got = await remote.get(path);
    listed.set(path, got.status === 200 ? parseVersionsYaml(got.data.toString('utf8'), { file: new URL(path, remote.url).href }) : []);
  }
  const versions: PublishResult['versions'] = selected.map((v) => {
    const was = listed.get(versionsPath(v.type, v.product))?.find((e) => e.version === v.version);
    const outcome: VersionOutcome = !was ? 'new' : was.sha256 === undefined || was.sha256 === v.sha256 ? 'published' : 'replaced';
    return { type: v.type, product: v.product, version: v.version, sha256: v.sha256, outcome };
  });
  const replaced = versions.filter((v) => v.outcome === 'replaced');
  const changedBytes = replaced.map((v) => {
    const was = listed.get(versionsPath(v.type, v.product))!.find((e) => e.version === v.version)!;
    return `${id(v)}: published sha256 ${was.sha256}, local sha256 ${v.sha256}`;
  });
  if (changedBytes.length > 0 && !opts.force) {
    throw new WorkerAdminError('VERSION_IMMUTABLE', `published versions differ from their local bytes (nothing uploaded; publish a new version, leave these out with --only, or --force):\n${changedBytes.join('\n')}`);
  }

  // 2. the files each version needs, sent when the repository lacks them or holds other bytes
  const yaml = new Map<string, Buffer>();
  const zips: string[] = [];
  for (const v of versions) {
    const { major } = splitVersion(v.version);
    for (const path of [...LAYER_NAMES.map((layer) => keysPath(v.type, v.product, v.version, layer)), pivotPath(v.type, v.product, major)]) {
      const data = await readFile(join(dir, path)).catch(() => null);
      if (data) yaml.set(path, data);
    }
    if (v.outcome !== 'published') zips.push(zipPath(v.type, v.product, v.version));
  }
  const yamlUploads: string[] = [];
  for (const [path, data] of yaml) {
    const there = await remote.get(path);
    if (there.status === 404 || !there.data.equals(data)) yamlUploads.push(path);
  }
  const toCheck = new Map(yamlUploads.map((p) => [p, yaml.get(p)!]));
  const violations = await immutabilityViolations(async (path) => {
    const got = await remote.get(path);
    return got.status === 200 ? got.data : null;
  }, { yaml: toCheck, versions: [] });
  if (violations.length > 0 && !opts.force) {
    throw new WorkerAdminError('VERSION_IMMUTABLE', `published files would change (nothing uploaded; --force overrides):\n${describeViolations(violations)}`);
  }
  for (const line of [...changedBytes, ...violations.map((v) => `${v.file}: ${v.rule}`)]) reporter.warn(`--force: replacing what is published: ${line}`);

  const products = [...new Set(versions.filter((v) => v.outcome !== 'published').map((v) => versionsPath(v.type, v.product)))];
  const uploads = [...zips, ...yamlUploads, ...products];
  if (opts.dryRun) {
    for (const v of versions) reporter.line(`${id(v)} ${v.sha256} ${v.outcome === 'published' ? 'already published' : v.outcome === 'new' ? 'would publish' : 'would replace (--force)'}`);
    for (const path of uploads) reporter.line(`would PUT ${path}`);
    return { versions, uploads };
  }

  // 3. zips (the long uploads, so an interrupted publish most likely leaves nothing), yaml, versions.yaml last:
  // no admin ever sees a version whose files are not all there
  for (const path of [...zips, ...yamlUploads]) await upload(remote, reporter, path, yaml.get(path) ?? (await readFile(join(dir, path))));
  for (const path of products) {
    const mine = versions.filter((v) => v.outcome !== 'published' && versionsPath(v.type, v.product) === path);
    const entries = mine.map((v): VersionEntry => ({ version: v.version, sha256: v.sha256, ...(opts.signKey ? { signature: signSha256(v.sha256, opts.signKey) } : {}) }));
    const result = await updateList(remote, {
      path,
      parse: (text) => parseVersionsYaml(text, { file: new URL(path, remote.url).href }),
      render: versionsYamlText,
      change(current) {
        const merged = new Map(current.map((e) => [e.version, e]));
        let changed = false;
        for (const e of entries) {
          const there = merged.get(e.version);
          if (there !== undefined && there.sha256 === e.sha256 && there.signature === e.signature) continue;
          // another publisher listed it meanwhile with other bytes: the same refusal as above
          if (there && there.sha256 !== undefined && there.sha256 !== e.sha256 && !opts.force && !replaced.some((r) => r.version === e.version)) {
            throw new WorkerAdminError('VERSION_IMMUTABLE', `${path}: version ${e.version} was published meanwhile with sha256 ${there.sha256}, local sha256 ${e.sha256}`);
          }
          merged.set(e.version, e);
          changed = true;
        }
        return changed ? [...merged.values()] : null;
      },
    });
    if (result.unconditional) reporter.warn(`${path}: the server gave no ETag, so versions.yaml was written without a conditional request`);
    reporter.line(`PUT ${path} (${entries.map((e) => e.version).join(', ')} listed${result.attempts > 1 ? `, after ${result.attempts - 1} conflict(s)` : ''})`);
  }
  for (const v of versions) reporter.line(`${id(v)} ${v.sha256} ${v.outcome === 'published' ? 'already published' : v.outcome === 'new' ? 'published' : 'replaced (--force)'}`);
  return { versions, uploads };
}

async function upload(remote: RemoteRepository, reporter: PublishReporter, path: string, data: Buffer): Promise<void> {
  const bar = reporter.progress?.(path);
  const res = await remote.put(path, data, bar ? { onProgress: (sent, total) => bar.update(sent, total) } : {});
  bar?.done();
  if (res.status < 200 || res.status >= 300) throw new WorkerAdminError('REPOSITORY_ERROR', `PUT ${path}: HTTP ${res.status} ${res.text}`);
  if (!bar) reporter.line(`PUT ${path} ${data.length} bytes`);
}
