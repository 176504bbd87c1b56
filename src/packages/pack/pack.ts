// `pack`: builds a repository tree (yaml copies, deterministic zips, versions.yaml with sha256) from a source tree.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import semver from 'semver';
import { WorkerAdminError } from '../../common/errors.js';
import { parseKeysYaml, type LayerName } from '../../repository/keys.js';
import { parsePivotYaml } from '../../repository/pivot.js';
import { parseVersionsYaml, toSemver, type VersionEntry } from '../../repository/versions.js';
import { bundleWorker, findEntry, withBundler } from './bundle.js';
import { scanSource, type SourceVersion } from './source-tree.js';
import { deterministicZip, type ZipInput } from './zip-writer.js';

/** What one pack wrote. */
export interface PackResult {
  versions: Array<{ type: string; product: string; version: string; sha256: string; zip: string }>;
  yamlFiles: string[];
}

/** Packs `src` into `out` (created if needed); other versions already in `out` keep their entries and bytes. */
export function packRepository(opts: { src: string; out: string }): Promise<PackResult> {
  return withBundler(() => packTree(opts));
}

async function packTree(opts: { src: string; out: string }): Promise<PackResult> {
  const tree = await scanSource(opts.src);
  for (const rel of tree.yamlFiles) {
    const text = await readFile(join(opts.src, rel), 'utf8');
    checkYaml(rel, text, join(opts.src, rel));
    await writeAtomic(join(opts.out, rel), Buffer.from(text));
  }
  const packed: PackResult['versions'] = [];
  for (const v of tree.versions) {
    const zip = await deterministicZip(await workerFiles(v));
    const rel = `${v.type}/${v.product}/${v.version.replace('.', '_')}_worker.zip`;
    await writeAtomic(join(opts.out, rel), zip);
    packed.push({ type: v.type, product: v.product, version: v.version, sha256: createHash('sha256').update(zip).digest('hex'), zip: rel });
  }
  const products = new Map<string, typeof packed>();
  for (const p of packed) products.set(`${p.type}/${p.product}`, [...(products.get(`${p.type}/${p.product}`) ?? []), p]);
  for (const [product, list] of products) {
    const file = join(opts.out, product, 'versions.yaml');
    const previous = await readFile(file, 'utf8').then((t) => parseVersionsYaml(t, { file }), () => [] as VersionEntry[]);
    const merged = new Map(previous.map((e) => [e.version, e]));
    for (const p of list) merged.set(p.version, { version: p.version, sha256: p.sha256 });
    await writeAtomic(file, Buffer.from(versionsYaml([...merged.values()])));
  }
  return { versions: packed, yamlFiles: tree.yamlFiles };
}

/** versions.yaml text: quoted versions sorted by semver, each with its sha256 when known. */
export function versionsYaml(entries: readonly VersionEntry[]): string {
  const sorted = [...entries].sort((a, b) => semver.compare(toSemver(a.version), toSemver(b.version)));
  return sorted.map((e) => (e.sha256 ? `- version: "${e.version}"\n  sha256: ${e.sha256}\n` : `- "${e.version}"\n`)).join('');
}

// The files of one version's zip: a bundled worker.mjs, or the folder as is around an executable `worker`.
async function workerFiles(v: SourceVersion): Promise<ZipInput[]> {
  const entry = findEntry(v.workerDir);
  if (entry) return [{ path: 'worker.mjs', data: await bundleWorker(v.workerDir, entry), executable: false }];
  const files = await listFiles(v.workerDir);
  const worker = files.find((f) => f.path === 'worker');
  if (!worker?.executable) {
    throw new WorkerAdminError('CONFIG_INVALID', `${v.workerDir}: needs worker.ts, worker.mjs or an executable \`worker\``);
  }
  return files;
}

async function listFiles(root: string, dir = root): Promise<ZipInput[]> {
  const out: ZipInput[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, path)));
    else if (e.isFile()) {
      const info = await stat(path);
      out.push({ path: relative(root, path).split(sep).join('/'), data: await readFile(path), executable: (info.mode & 0o111) !== 0 });
    } else throw new WorkerAdminError('CONFIG_INVALID', `${path}: only files and folders can be packed (no symlinks or devices)`);
  }
  return out;
}

// Refuses a broken yaml at pack time rather than at a worker's start.
function checkYaml(rel: string, text: string, file: string): void {
  const parts = rel.split('/');
  const name = parts[parts.length - 1]!;
  if (name === 'keys.yaml') {
    const layer: LayerName = (['type', 'product', 'major', 'minor'] as const)[parts.length - 2]!;
    parseKeysYaml(text, layer, { file });
  } else parsePivotYaml(text, { file });
}

async function writeAtomic(path: string, data: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(temp, data, { mode: 0o644 });
  await rename(temp, path);
}
