// What a packed version was built from, recorded so that `up` can skip re-packing a version whose inputs did not
// change: {records}/{type}/{product}/{major}_{minor}.json, where {records} is outside the served repository tree
// (`up`: {stateDir}/pack-records), so that build paths and hashes are never served with the packages.
//
// A version is reused only when ALL of these still hold; anything changed, missing or unreadable means pack again:
// - the record was written by this packer (same record format, same packer code, same esbuild and yazl versions);
// - the same worker folder (absolute path) and the same entry (worker.ts / worker.mjs / executable `worker`);
// - for a bundle: every file esbuild read for it (metafile inputs: the worker's own modules, the SDK from dist/,
//   node_modules) has the recorded sha256, and the resolution context is the same: the names in every folder holding
//   an input, and package.json / tsconfig.json / jsconfig.json / node_modules in those folders and their ancestors
//   (a file added there may change what an import resolves to);
// - for an executable worker: the same files, modes and bytes in the worker folder;
// - the zip in the repository still has the recorded sha256, and versions.yaml lists that sha256 for the version.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileHasher } from '../manifest.js';
import { esbuildVersion } from './bundle.js';
import type { ZipInput } from './zip-writer.js';

export const RECORD_FORMAT = 1;

/** The inputs of one packed version, as written to its record. */
export interface PackRecord {
  format: number;
  packer: string;
  workerDir: string;
  /** `worker.ts`, `worker.mjs`, `worker.py` (files and vendored SDK, as a tree), or null for an executable `worker` folder. */
  entry: string | null;
  /** sha256 of the zip. */
  sha256: string;
  /** Bundle: absolute input path → sha256. */
  inputs?: Record<string, string>;
  /** Bundle: digest of the resolution context of those inputs. */
  context?: string;
  /** Executable worker: digest of the folder (paths, modes, bytes). */
  tree?: string;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export function recordPath(records: string, type: string, product: string, version: string): string {
  return join(records, type, product, `${version.replace('.', '_')}.json`);
}

let packerPromise: Promise<string> | undefined;
/** Identifies this packer: the record format, its own code (bundle options, zip settings), esbuild and yazl versions. */
export function packerId(): Promise<string> {
  return (packerPromise ??= (async () => {
    const hash = createHash('sha256').update(`record ${RECORD_FORMAT}\nesbuild ${await esbuildVersion()}\n`);
    const require = createRequire(import.meta.url);
    hash.update(`yazl ${(JSON.parse(await readFile(require.resolve('yazl/package.json'), 'utf8')) as { version: string }).version}\n`);
    const here = dirname(fileURLToPath(import.meta.url));
    for (const name of (await readdir(here)).sort()) {
      if (/\.(js|ts)$/.test(name) && !name.endsWith('.d.ts')) hash.update(`${name}\n`).update(await readFile(join(here, name)));
    }
    return hash.digest('hex');
  })());
}

// File hashes shared by the versions packed in one session (the SDK and node_modules are the inputs of most bundles):
// a FileHasher (remembered by stat, never for a file changed in the last SETTLED_MS) while a withInputCache call runs.
let cacheUsers = 0;
let fileHashes: FileHasher | undefined;

/** Runs `fn` with file hashes shared across the records it reads and writes; forgotten once no session runs. */
export async function withInputCache<T>(fn: () => Promise<T>): Promise<T> {
  cacheUsers += 1;
  fileHashes ??= new FileHasher();
  try {
    return await fn();
  } finally {
    cacheUsers -= 1;
    if (cacheUsers === 0) fileHashes = undefined;
  }
}

async function fileSha256(path: string): Promise<string> {
  return fileHashes ? fileHashes.hash(path) : sha256(await readFile(path));
}

/** sha256 of every input file (throws when one cannot be read). */
export async function hashInputs(inputs: readonly string[]): Promise<Record<string, string>> {
  const hashes = await Promise.all(inputs.map((path) => fileSha256(path)));
  return Object.fromEntries(inputs.map((path, i) => [path, hashes[i]!]));
}

const CONTEXT_NAMES = ['package.json', 'tsconfig.json', 'jsconfig.json', 'node_modules'];

/** Digest of what may change how the inputs' imports resolve (see the file header); throws on an unreadable folder. */
export async function resolutionContext(inputs: readonly string[]): Promise<string> {
  const inputDirs = new Set(inputs.map((p) => dirname(p)));
  const dirs = new Set<string>();
  for (const start of inputDirs) {
    for (let dir = start; !dirs.has(dir); dir = dirname(dir)) {
      dirs.add(dir);
      if (dirname(dir) === dir) break;
    }
  }
  const describe = async (dir: string): Promise<string> => {
    const lines = await Promise.all(CONTEXT_NAMES.map(async (name) => {
      const path = join(dir, name);
      const info = await stat(path).catch(() => null);
      const state = info === null ? '-' : info.isDirectory() ? 'dir' : info.isFile() ? await fileSha256(path) : 'other';
      return `${path}\0${state}\n`;
    }));
    if (inputDirs.has(dir)) lines.push(`${dir}\0[${(await readdir(dir)).sort().join('\0')}]\n`);
    return lines.join('');
  };
  const sorted = [...dirs].sort();
  const described = await Promise.all(sorted.map(describe));
  return createHash('sha256').update(described.join('')).digest('hex');
}

/** Digest of an executable worker folder's files. */
export function treeDigest(files: readonly ZipInput[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${f.path}\0${f.executable ? 'x' : '-'}\0${sha256(f.data)}\n`);
  }
  return hash.digest('hex');
}

/** The record at `path`, or null when missing, unreadable or not from this packer. */
export async function readRecord(path: string): Promise<PackRecord | null> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as PackRecord;
    if (record.format !== RECORD_FORMAT || record.packer !== (await packerId())) return null;
    if (typeof record.workerDir !== 'string' || typeof record.sha256 !== 'string') return null;
    return record;
  } catch {
    return null;
  }
}

/** True when the bundle inputs of `record` still hash and resolve as recorded. */
export async function bundleInputsUnchanged(record: PackRecord): Promise<boolean> {
  if (!record.inputs || typeof record.context !== 'string') return false;
  const paths = Object.keys(record.inputs);
  if (paths.length === 0) return false;
  try {
    const now = await hashInputs(paths);
    if (paths.some((p) => now[p] !== record.inputs![p])) return false;
    return (await resolutionContext(paths)) === record.context;
  } catch {
    return false;
  }
}

export async function writeRecord(path: string, record: PackRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  await writeFile(temp, `${JSON.stringify(record, null, 1)}\n`, { mode: 0o644 });
  await rename(temp, path);
}

export async function removeRecord(path: string): Promise<void> {
  await rm(path, { force: true });
}

export { sha256 as sha256Hex };
