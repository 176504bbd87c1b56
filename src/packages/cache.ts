// The package cache (step 2): reuse a cached zip whose sha256 still matches, else download, verify and unpack.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertProduct, assertType, productKey, splitVersion } from '../common/names.js';
import type { Progress } from '../repository/body.js';
import type { RepositoryClient } from '../repository/client.js';
import { DEFAULT_PACKAGE_LIMITS, type PackageLimits } from './limits.js';
import type { PackageEntry } from './unzip.js';
import { checkSha, verifyAndUnpack } from './verify.js';
import { FileHasher, folderManifest, manifestDifference, type Manifest } from './manifest.js';

/** One version's package on disk. */
export interface CachedPackage {
  /** `{stateDir}/workers/{type}/{product}/{major}.{minor}` */
  dir: string;
  sha256: string;
  zipPath: string;
  entry: PackageEntry;
  /** How it was obtained: reused as is, unpacked again from the cached zip, or downloaded. */
  source: 'cache' | 'unpacked' | 'downloaded';
}

interface EnsureRequest {
  type: string;
  product: string;
  version: string;
  /** From versions.yaml: when given the zip must match it. */
  sha256?: string | undefined;
  onProgress?: Progress;
  signal?: AbortSignal;
}

export interface PackageCache {
  ensure(request: EnsureRequest): Promise<CachedPackage>;
}

/** Beside each unpacked folder: what it was unpacked from, and what it held then. */
interface Marker {
  sha256: string;
  entry: PackageEntry;
  /** Every file of the folder with its sha256: a cache hit whose folder differs is unpacked again. */
  files?: Manifest;
}

/** A cache under `{stateDir}/workers` (folders) and `{stateDir}/packages` (zips). */
export function createPackageCache(opts: { stateDir: string; repository: RepositoryClient; limits?: Partial<PackageLimits>; hasher?: FileHasher }): PackageCache {
  const limits = { ...DEFAULT_PACKAGE_LIMITS, ...opts.limits };
  const inFlight = new Map<string, Promise<CachedPackage>>();
  // A cache hit still proves the zip and every file of the folder, but reads only files whose stat changed since.
  const hasher = opts.hasher ?? new FileHasher();

  async function ensureOnce(req: EnsureRequest): Promise<CachedPackage> {
    const type = assertType(req.type);
    const product = assertProduct(req.product);
    const { major, minor } = splitVersion(req.version);
    const label = `${productKey({ type, product })}@${req.version}`;
    const parent = join(opts.stateDir, 'workers', type, product);
    const dir = join(parent, `${major}.${minor}`);
    const markerPath = `${dir}.json`;
    const zipDir = join(opts.stateDir, 'packages', type, product);
    const zipPath = join(zipDir, `${major}_${minor}_worker.zip`);
    await mkdir(parent, { recursive: true });
    await mkdir(zipDir, { recursive: true });

    const cachedSha = await hasher.hash(zipPath).catch(() => null);
    if (cachedSha !== null && (req.sha256 === undefined || req.sha256.toLowerCase() === cachedSha)) {
      const marker = await readMarker(markerPath);
      if (marker?.sha256 === cachedSha && marker.files && (await isFile(join(dir, marker.entry)))) {
        // The zip matched; the folder must too: code edited on disk after unpacking never runs.
        const changed = manifestDifference(marker.files, await folderManifest(dir, hasher.hash).catch(() => ({})));
        if (changed === undefined) return { dir, sha256: cachedSha, zipPath, entry: marker.entry, source: 'cache' };
      }
      const result = await unpackInto(zipPath, dir, markerPath, req.sha256, label);
      return { dir, sha256: result.sha256, zipPath, entry: result.entry, source: 'unpacked' };
    }

    const part = `${zipPath}.part-${randomBytes(6).toString('hex')}`;
    try {
      const got = await opts.repository.downloadPackage({ type, product, version: req.version, dest: part, ...(req.onProgress ? { onProgress: req.onProgress } : {}), ...(req.signal ? { signal: req.signal } : {}) });
      checkSha(label, req.sha256, got.sha256);
      await rename(part, zipPath);
      hasher.forget(zipPath);
    } catch (error) {
      await rm(part, { force: true });
      throw error;
    }
    const result = await unpackInto(zipPath, dir, markerPath, req.sha256, label);
    return { dir, sha256: result.sha256, zipPath, entry: result.entry, source: 'downloaded' };
  }

  // Unpacks and writes the marker; a refused zip is deleted with everything unpacked from it.
  async function unpackInto(zipPath: string, dir: string, markerPath: string, sha256: string | undefined, label: string): Promise<{ sha256: string; entry: PackageEntry }> {
    await rm(markerPath, { force: true });
    hasher.forget(dir);
    try {
      const result = await verifyAndUnpack({ zipPath, dir, limits, sha256, label });
      const marker: Marker = { sha256: result.sha256, entry: result.entry, files: await folderManifest(dir, hasher.hash) };
      await writeFile(`${markerPath}.tmp`, JSON.stringify(marker));
      await rename(`${markerPath}.tmp`, markerPath);
      return { sha256: marker.sha256, entry: marker.entry };
    } catch (error) {
      await rm(zipPath, { force: true });
      hasher.forget(zipPath);
      throw error;
    }
  }

  return {
    ensure(req) {
      const key = `${productKey(req)}@${req.version}`;
      const running = inFlight.get(key);
      if (running) return running;
      const p = ensureOnce(req).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
      return p;
    },
  };
}

async function readMarker(path: string): Promise<Marker | null> {
  try {
    const m = JSON.parse(await readFile(path, 'utf8')) as Partial<Marker>;
    if (typeof m.sha256 !== 'string' || (m.entry !== 'worker' && m.entry !== 'worker.mjs')) return null;
    return { sha256: m.sha256, entry: m.entry, ...(m.files && typeof m.files === 'object' ? { files: m.files } : {}) };
  } catch {
    return null;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
