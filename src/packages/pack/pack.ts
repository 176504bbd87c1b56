// `pack`: builds a repository tree (yaml copies, deterministic zips, versions.yaml with sha256) from a source tree.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WorkerAdminError } from '../../common/errors.js';
import { parseKeysYaml, type LayerName } from '../../repository/keys.js';
import { parsePivotYaml } from '../../repository/pivot.js';
import { parseVersionsYaml, type VersionEntry } from '../../repository/versions.js';
import { versionsYamlText } from '../../repository/yanked.js';
import { bundleWorkerWithInputs, findEntry, withBundler } from './bundle.js';
import {
  bundleInputsUnchanged, hashInputs, packerId, RECORD_FORMAT, readRecord, recordPath, removeRecord, resolutionContext, sha256Hex, treeDigest,
  withInputCache, writeRecord, type PackRecord,
} from './pack-record.js';
import { listFiles } from './list-files.js';
import { isPythonWorker, PYTHON_ENTRY, pythonWorkerFiles } from './python-entry.js';
import { scanSource, type SourceVersion } from './source-tree.js';
import { deterministicZip, type ZipInput } from './zip-writer.js';
import { productKey } from '../../common/names.js';

/** What one pack wrote. */
interface PackResult {
  /** `result`: `packed` (bundled and zipped now), or `unchanged` (reuse: the zip in `out` was built from the same inputs). */
  versions: Array<{ type: string; product: string; version: string; sha256: string; zip: string; result: 'packed' | 'unchanged' }>;
  yamlFiles: string[];
}

interface PackOptions {
  src: string;
  out: string;
  /**
   * Records the inputs of every version packed in this folder (keep it outside `out`: it is not for serving), and
   * skips a version whose inputs did not change since it was last packed into `out` with the same folder (see
   * pack-record.ts). Unset by default: `worker-admin pack` always packs.
   */
  reuseRecords?: string;
  /**
   * Called with everything about to be written, before anything is: throwing leaves `out` untouched (the
   * immutability rules of docs/repository.md live in src/publish/immutability.ts and are passed in here).
   */
  beforeWrite?: (plan: PackPlan) => Promise<void>;
}

/** What a pack is about to write into `out`: yaml files (relative path → bytes) and versions with their new sha256. */
export interface PackPlan {
  out: string;
  yaml: Map<string, Buffer>;
  versions: Array<{ type: string; product: string; version: string; sha256: string; zip: string }>;
}

/** Packs `src` into `out` (created if needed); other versions already in `out` keep their entries and bytes. */
export function packRepository(opts: PackOptions): Promise<PackResult> {
  return packSession(() => packTree(opts));
}

/**
 * Runs `fn` (which packs) as one session: packRepository calls inside it share esbuild's service and the hashes of
 * the files their bundles read (the SDK, node_modules), instead of starting and hashing again for each source tree.
 */
export function packSession<T>(fn: () => Promise<T>): Promise<T> {
  return withBundler(() => withInputCache(fn));
}

async function packTree(opts: PackOptions): Promise<PackResult> {
  const tree = await scanSource(opts.src);
  const yaml = new Map<string, Buffer>();
  for (const rel of tree.yamlFiles) {
    const text = await readFile(join(opts.src, rel), 'utf8');
    checkYaml(rel, text, join(opts.src, rel));
    yaml.set(rel, Buffer.from(text));
  }
  const packed: PackResult['versions'] = [];
  const zips = new Map<string, Buffer>();
  const records: Array<{ path: string; record: PackRecord | null }> = [];
  const listed = new Map<string, Promise<VersionEntry[]>>(); // versions.yaml as it was before this pack
  const listedIn = (product: string): Promise<VersionEntry[]> => {
    const file = join(opts.out, product, 'versions.yaml');
    let entries = listed.get(product);
    if (!entries) listed.set(product, (entries = readFile(file, 'utf8').then((t) => parseVersionsYaml(t, { file }), () => [])));
    return entries;
  };
  for (const v of tree.versions) {
    const rel = `${v.type}/${v.product}/${v.version.replace('.', '_')}_worker.zip`;
    const base = { type: v.type, product: v.product, version: v.version, zip: rel };
    const record = opts.reuseRecords === undefined ? '' : recordPath(opts.reuseRecords, v.type, v.product, v.version);
    if (record) {
      // the records only ever save work: any trouble with them means packing as without them
      const kept = await unchangedSha256(v, join(opts.out, rel), record, await listedIn(productKey(v))).catch(() => null);
      if (kept) {
        packed.push({ ...base, sha256: kept, result: 'unchanged' });
        continue;
      }
    }
    const built = await workerFiles(v);
    const zip = await deterministicZip(built.files);
    const sha256 = createHash('sha256').update(zip).digest('hex');
    zips.set(rel, zip);
    packed.push({ ...base, sha256, result: 'packed' });
    if (record) records.push({ path: record, record: await recordOf(v, built, sha256) });
  }
  await opts.beforeWrite?.({ out: opts.out, yaml, versions: packed.map(({ result: _r, ...v }) => v) });
  for (const [rel, data] of yaml) await writeAtomic(join(opts.out, rel), data);
  // written again only once the new zip is listed in versions.yaml (left behind, it names the old zip's sha256)
  for (const { path } of records) await removeRecord(path).catch(() => undefined);
  for (const [rel, zip] of zips) await writeAtomic(join(opts.out, rel), zip);
  const products = new Map<string, typeof packed>();
  for (const p of packed) products.set(productKey(p), [...(products.get(productKey(p)) ?? []), p]);
  for (const [product, list] of products) {
    const file = join(opts.out, product, 'versions.yaml');
    const previous = await readFile(file, 'utf8').then((t) => parseVersionsYaml(t, { file }), () => [] as VersionEntry[]);
    const merged = new Map(previous.map((e) => [e.version, e]));
    // a signature stays with the bytes it signs
    for (const p of list) merged.set(p.version, merged.get(p.version)?.sha256 === p.sha256 ? merged.get(p.version)! : { version: p.version, sha256: p.sha256 });
    await writeAtomic(file, Buffer.from(versionsYaml([...merged.values()])));
  }
  for (const { path, record } of records) if (record) await writeRecord(path, record).catch(() => undefined); // next time: packed
  return { versions: packed, yamlFiles: tree.yamlFiles };
}

/** versions.yaml text: quoted versions sorted by semver, each with its sha256 (and signature) when known. */
const versionsYaml = versionsYamlText;


interface WorkerFiles {
  files: ZipInput[];
  entry: string | null;
  /** A bundle's inputs (absolute paths). */
  inputs?: string[];
}

// The files of one version's zip: a bundled worker.mjs, or the folder as is around an executable `worker`.
async function workerFiles(v: SourceVersion): Promise<WorkerFiles> {
  const entry = findEntry(v.workerDir);
  if (entry) {
    const { code, inputs } = await bundleWorkerWithInputs(v.workerDir, entry);
    return { files: [{ path: 'worker.mjs', data: code, executable: false }], entry, inputs };
  }
  if (isPythonWorker(v.workerDir)) return { files: await pythonWorkerFiles(v.workerDir), entry: PYTHON_ENTRY };
  const files = await listFiles(v.workerDir);
  const worker = files.find((f) => f.path === 'worker');
  if (!worker?.executable) {
    throw new WorkerAdminError('CONFIG_INVALID', `${v.workerDir}: needs worker.ts, worker.mjs, worker.py or an executable \`worker\``);
  }
  return { files, entry: null };
}

// What a version was just packed from; null (no record, so packed again next time) when an input cannot be read.
async function recordOf(v: SourceVersion, built: WorkerFiles, sha256: string): Promise<PackRecord | null> {
  try {
    const base = { format: RECORD_FORMAT, packer: await packerId(), workerDir: v.workerDir, entry: built.entry, sha256 };
    return built.inputs && built.entry !== PYTHON_ENTRY
      ? { ...base, inputs: await hashInputs(built.inputs), context: await resolutionContext(built.inputs) }
      : { ...base, tree: treeDigest(built.files) };
  } catch {
    return null;
  }
}

// The sha256 of the zip already in the repository when `v` would be packed from the same inputs into the same bytes.
async function unchangedSha256(v: SourceVersion, zipFile: string, recordFile: string, listed: readonly VersionEntry[]): Promise<string | null> {
  const record = await readRecord(recordFile);
  const entry = findEntry(v.workerDir) ?? (isPythonWorker(v.workerDir) ? PYTHON_ENTRY : null);
  if (!record || record.workerDir !== v.workerDir || record.entry !== entry) return null;
  if (listed.find((e) => e.version === v.version)?.sha256 !== record.sha256) return null;
  const zip = await readFile(zipFile).catch(() => null);
  if (!zip || sha256Hex(zip) !== record.sha256) return null;
  if (record.entry && record.entry !== PYTHON_ENTRY) return (await bundleInputsUnchanged(record)) ? record.sha256 : null;
  // an executable or Python folder: the files it would zip now (the vendored SDK included) against the record's
  const files = await (record.entry === PYTHON_ENTRY ? pythonWorkerFiles(v.workerDir) : listFiles(v.workerDir)).catch(() => null);
  return files && record.tree === treeDigest(files) ? record.sha256 : null;
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
