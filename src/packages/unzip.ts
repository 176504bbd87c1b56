// Safe unpack of a package zip into an empty folder, with every limit of docs/configuration.md checked while streaming.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { WorkerAdminError } from '../common/errors.js';
import { smallEntryBytes, SMALL_ENTRY_BYTES } from './entry-bytes.js';
import { checkEntry, entryLabel } from './entry-name.js';
import type { PackageLimits } from './limits.js';

/** How a package is run: an executable `worker` or `worker.mjs` at its root. */
export type PackageEntry = 'worker' | 'worker.mjs';

/** What an unpack wrote. */
export interface UnpackResult {
  entries: number;
  bytes: number;
  entry: PackageEntry;
}

// zlib.crc32 exists from Node 20.15; older versions skip the CRC check (sha256 still guards the whole zip).
const CHUNK = 256 * 1024;
const crc32 = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

type Refuse = (what: string, cause?: unknown) => WorkerAdminError;

const refuser = (label: string): Refuse => (what, cause) =>
  new WorkerAdminError('PACKAGE_REJECTED', `package ${label}: ${what}`, cause === undefined ? {} : { cause });

/** Unpacks `zipPath` into `dest` (created; must not exist); PACKAGE_REJECTED naming the entry and the rule. */
export async function unpackZip(zipPath: string, dest: string, limits: PackageLimits, label = zipPath, options: UnpackOptions = {}): Promise<UnpackResult> {
  const size = (await stat(zipPath)).size;
  if (size > limits.zipBytes) throw refuser(label)(`zip is ${size} bytes, over the zipBytes limit of ${limits.zipBytes}`);
  return unpackZipBuffer(await readFile(zipPath), dest, limits, label, options);
}

/**
 * Entries unpacked at once by default: inflates and writes overlap on the libuv threadpool (4 threads). Benchmark 3
 * (300 entries, 2 cores): 1 → 2 → 4 in flight each faster, 6 and 8 alike and a little faster than 4, 12–16 no better;
 * 6 keeps the threadpool busy while entries are on the main thread (CRC-32), with at most 6 small entries in memory.
 */
const UNPACK_CONCURRENCY = 6;

/** Unpack options: `concurrency` entries in flight at most (1: one after the other). */
export interface UnpackOptions {
  concurrency?: number;
}

/**
 * The same from the zip in memory (read once: hashed and unpacked without another read per entry).
 * Up to `concurrency` entries are inflated and written at once; names, duplicates, modes and declared sizes are
 * checked in entry order before an entry starts, and each entry reserves its declared size of unpackedBytes first
 * (it must then produce exactly that), so the total can never pass the limit. On a refusal nothing new starts, every
 * entry in flight is awaited, and the error of the lowest entry index is thrown: the one the sequential order gives.
 */
export async function unpackZipBuffer(data: Buffer, dest: string, limits: PackageLimits, label: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  const refuse = refuser(label);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? UNPACK_CONCURRENCY));
  if (data.length > limits.zipBytes) throw refuse(`zip is ${data.length} bytes, over the zipBytes limit of ${limits.zipBytes}`);
  let zip: yauzl.ZipFile;
  try {
    // No autoClose: entries still in flight open their read streams after the last entry is read.
    zip = await yauzl.fromBufferPromise(data, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false, strictFileNames: true });
  } catch (error) {
    throw refuse(`not a valid zip archive (${(error as Error).message})`, error);
  }
  try {
    if (zip.entryCount > limits.entries) throw refuse(`${zip.entryCount} entries, over the entries limit of ${limits.entries}`);
    await mkdir(dest, { recursive: false });
    const seen = new Set<string>();
    const executables = new Set<string>();
    const folders = new Set<string>();
    const running = new Set<Promise<void>>();
    // Keys of the files started so far, case- and Unicode-folded: a later entry under one of them (or the same file
    // on a case-insensitive disk) waits until they are written, so the error is the one of the sequential order.
    const files = new Set<string>();
    let failure: { index: number; error: unknown } | undefined;
    const fail = (index: number, error: unknown): void => {
      if (failure === undefined || index < failure.index) failure = { index, error };
    };
    const drain = async (): Promise<void> => {
      await Promise.allSettled([...running]);
    };
    let reserved = 0;
    let count = 0;
    // Checks one entry in order and starts it; false: stop, a refusal is recorded.
    const schedule = async (entry: yauzl.Entry, index: number): Promise<boolean> => {
      if (failure) return false;
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const at = `entry ${entryLabel(name)}`;
      const check = checkEntry(name, entry.externalFileAttributes, entry.versionMadeBy);
      if (check.kind === 'refused') throw refuse(`${at}: ${check.rule}`);
      const key = check.segments.join('/');
      if (seen.has(key)) throw refuse(`${at}: listed twice`);
      seen.add(key);
      const target = join(dest, ...check.segments);
      if (overlapsFile(files, check.segments, check.kind === 'file')) {
        await drain();
        if (failure) return false;
      }
      if (check.kind === 'directory') {
        await mkdir(target, { recursive: true }).catch((error: unknown) => { throw refuse(`${at}: cannot create folder (${(error as Error).message})`, error); });
        return true;
      }
      if (entry.isEncrypted()) throw refuse(`${at}: encrypted entries are not supported`);
      if (!entry.canDecodeFileData()) throw refuse(`${at}: compression method ${entry.compressionMethod} is not supported`);
      if (reserved + entry.uncompressedSize > limits.unpackedBytes) throw refuse(`${at}: declared size would take the package over the unpackedBytes limit of ${limits.unpackedBytes}`);
      const folder = join(dest, ...check.segments.slice(0, -1));
      if (!folders.has(folder)) {
        await mkdir(folder, { recursive: true }).catch((error: unknown) => { throw refuse(`${at}: cannot create its folder (${(error as Error).message})`, error); });
        folders.add(folder);
      }
      while (running.size >= concurrency && !failure) await Promise.race(running);
      if (failure) return false;
      // When this entry is the first refused, every earlier one produced exactly its declared size: this is the
      // room the sequential order would give it.
      const o = { at, refuse, maxBytes: limits.unpackedBytes - reserved, maxRatio: limits.ratio };
      reserved += entry.uncompressedSize;
      files.add(fold(key));
      if (check.executable) executables.add(key);
      const task: Promise<void> = unpackEntry(data, zip, entry, target, check.executable, o)
        .then(() => undefined, (error: unknown) => fail(index, error))
        .finally(() => running.delete(task));
      running.add(task);
      return true;
    };
    try {
      let entryIterator: AsyncIterableIterator<yauzl.Entry>;
      try {
        entryIterator = zip.eachEntry();
      } catch (error) {
        throw refuse(`cannot read entries (${(error as Error).message})`, error);
      }
      for await (const entry of readEntries(entryIterator, refuse)) {
        const index = count;
        count += 1;
        try {
          if (!(await schedule(entry, index))) break;
        } catch (error) {
          fail(index, error);
          break;
        }
      }
    } catch (error) {
      // Reading the next entry failed: that entry's index, after every one read.
      fail(count, error);
    }
    // Nothing may still be writing when the caller removes the folder of a refused package.
    await drain();
    if (failure) throw failure.error;
    if (count !== zip.entryCount) throw refuse(`central directory lists ${zip.entryCount} entries, ${count} were read`);
    return { entries: count, bytes: reserved, entry: pickEntry(seen, executables, refuse) };
  } finally {
    zip.close();
  }
}

// One file entry: in one piece when small, else streamed; resolves once written with exactly its declared size.
async function unpackEntry(data: Buffer, zip: yauzl.ZipFile, entry: yauzl.Entry, target: string, executable: boolean, o: EntryRules): Promise<void> {
  if ((await writeSmallEntry(data, entry, target, executable, o)) === undefined) await writeEntry(zip, entry, target, executable, o);
}

// A name compared the way a case-insensitive, normalizing disk would.
const fold = (key: string): string => key.normalize('NFC').toLowerCase();

// True when an entry's path goes through a file already started, or (a file) is one again once folded.
function overlapsFile(files: Set<string>, segments: string[], isFile: boolean): boolean {
  if (files.size === 0) return false;
  const folded = segments.map(fold);
  const upTo = isFile ? folded.length - 1 : folded.length;
  let path = '';
  for (let i = 0; i < upTo; i += 1) {
    path = i === 0 ? (folded[0] ?? '') : `${path}/${folded[i] ?? ''}`;
    if (files.has(path)) return true;
  }
  return isFile && files.has(folded.join('/'));
}

// yauzl's iterator throws on a bad entry; such an error becomes a named refusal.
async function* readEntries(it: AsyncIterableIterator<yauzl.Entry>, refuse: Refuse): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    let next: IteratorResult<yauzl.Entry>;
    try {
      next = await it.next();
    } catch (error) {
      throw refuse(`bad entry after the ones read (${(error as Error).message})`, error);
    }
    if (next.done) return;
    yield next.value;
  }
}

interface EntryRules {
  at: string;
  refuse: Refuse;
  maxBytes: number;
  maxRatio: number;
}

// A small entry in one piece: inflated at most to its limits, checked, written with one call; undefined: stream it.
async function writeSmallEntry(zip: Buffer, entry: yauzl.Entry, target: string, executable: boolean, o: EntryRules): Promise<number | undefined> {
  if (entry.uncompressedSize > SMALL_ENTRY_BYTES) return undefined;
  const got = await smallEntryBytes(zip, entry, o.maxBytes, o.maxRatio);
  if (!got.ok) {
    if ('corrupt' in got) throw o.refuse(`${o.at}: cannot be unpacked (${got.corrupt})`);
    if (got.limit === 'unpackedBytes') throw o.refuse(`${o.at}: unpacked bytes over the unpackedBytes limit`);
    if (got.limit === 'ratio') throw o.refuse(`${o.at}: compression ratio over ${o.maxRatio}:1 (zip bomb)`);
    return undefined;
  }
  const bytes = got.data.length;
  if (bytes !== entry.uncompressedSize) throw o.refuse(`${o.at}: ${bytes} bytes unpacked, ${entry.uncompressedSize} declared (corrupt data)`);
  if (crc32 && crc32(got.data) >>> 0 !== entry.crc32 >>> 0) throw o.refuse(`${o.at}: CRC-32 mismatch (corrupt data)`);
  try {
    await writeFile(target, got.data, { flag: 'wx', mode: executable ? 0o755 : 0o644 });
  } catch (error) {
    throw o.refuse(`${o.at}: cannot be unpacked (${(error as Error).message})`, error);
  }
  return bytes;
}

// Streams one entry to `target`, counting the bytes actually produced for the size and ratio limits.
async function writeEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  target: string,
  executable: boolean,
  o: EntryRules,
): Promise<number> {
  let bytes = 0;
  let crc = 0;
  const compressed = Math.max(entry.compressedSize, 1);
  const meter = new Transform({
    transform(chunk: Buffer, _e, done) {
      const room = entry.uncompressedSize - bytes;
      bytes += chunk.length;
      if (bytes > o.maxBytes) return done(o.refuse(`${o.at}: unpacked bytes over the unpackedBytes limit`));
      if (bytes / compressed > o.maxRatio) return done(o.refuse(`${o.at}: compression ratio over ${o.maxRatio}:1 (zip bomb)`));
      // Past its declared size the entry is refused at its end: the rest is counted (the message says how much) but
      // not written, so entries in flight together never hold more on disk than the sizes they reserved.
      const keep = room >= chunk.length ? chunk : chunk.subarray(0, Math.max(room, 0));
      if (crc32) crc = crc32(keep, crc);
      if (keep.length === 0) return done();
      done(null, keep);
    },
  });
  try {
    // Raw data + our own inflate with large chunks: far fewer write calls than yauzl's 16 KiB default.
    const raw = await zip.openReadStreamPromise(entry, { decodeFileData: false });
    const stages = entry.compressionMethod === 8 ? [zlib.createInflateRaw({ chunkSize: CHUNK })] : [];
    await pipeline([raw, ...stages, meter, createWriteStream(target, { flags: 'wx', mode: executable ? 0o755 : 0o644, highWaterMark: CHUNK })]);
  } catch (error) {
    if (error instanceof WorkerAdminError) throw error;
    throw o.refuse(`${o.at}: cannot be unpacked (${(error as Error).message})`, error);
  }
  if (bytes !== entry.uncompressedSize) throw o.refuse(`${o.at}: ${bytes} bytes unpacked, ${entry.uncompressedSize} declared (corrupt data)`);
  if (crc32 && crc >>> 0 !== entry.crc32 >>> 0) throw o.refuse(`${o.at}: CRC-32 mismatch (corrupt data)`);
  return bytes;
}

function pickEntry(files: Set<string>, executables: Set<string>, refuse: (what: string) => WorkerAdminError): PackageEntry {
  if (executables.has('worker')) return 'worker';
  if (files.has('worker.mjs')) return 'worker.mjs';
  if (files.has('worker')) throw refuse('`worker` at the root is not executable (and there is no worker.mjs)');
  throw refuse('no executable `worker` or `worker.mjs` at the root');
}
