// A small entry's bytes straight from the zip in memory: one inflate call, no per-entry streams.
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type yauzl from 'yauzl';

/** Entries declaring at most this many bytes are unpacked in one piece; larger ones stream. */
export const SMALL_ENTRY_BYTES = 4 * 1024 * 1024;

const LOCAL_HEADER = 0x04034b50;
const MIN_CHUNK = 64; // zlib.constants.Z_MIN_CHUNK
const inflateRaw = promisify(zlib.inflateRaw) as (data: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** Why an entry's bytes could not be had: a limit reached (same wording as the streamed path), or bad data. */
type EntryBytes =
  | { ok: true; data: Buffer }
  | { ok: false; limit: 'unpackedBytes' | 'ratio' | 'bigger' }
  | { ok: false; corrupt: string };

/**
 * The entry's unpacked bytes, never more than `maxBytes`, `maxRatio` × its compressed size or SMALL_ENTRY_BYTES
 * (`bigger`: more than that came out, the caller streams it instead to say which limit it breaks).
 */
export async function smallEntryBytes(zip: Buffer, entry: yauzl.Entry, maxBytes: number, maxRatio: number): Promise<EntryBytes> {
  const at = entry.relativeOffsetOfLocalHeader;
  if (at + 30 > zip.length) return { ok: false, corrupt: 'local file header overflows the zip' };
  const signature = zip.readUInt32LE(at);
  if (signature !== LOCAL_HEADER) return { ok: false, corrupt: `invalid local file header signature: 0x${signature.toString(16)}` };
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const end = start + entry.compressedSize;
  if (end > zip.length) return { ok: false, corrupt: 'file data overflows the zip' };
  const raw = zip.subarray(start, end);
  const byRatio = Math.floor(Math.max(entry.compressedSize, 1) * maxRatio);
  const cap = Math.min(maxBytes, byRatio, SMALL_ENTRY_BYTES);
  if (entry.compressionMethod === 0) return raw.length > cap ? { ok: false, limit: which(cap, maxBytes, byRatio) } : { ok: true, data: raw };
  try {
    // One output chunk of the declared size (+1 to see the end): zlib's 16 KiB default costs a threadpool round trip
    // per 16 KiB, 5–10× slower. A lie about the size only means more chunks, never more than `cap + 1` bytes.
    const chunkSize = Math.max(MIN_CHUNK, Math.min(entry.uncompressedSize, cap) + 1);
    return { ok: true, data: await inflateRaw(raw, { maxOutputLength: cap + 1, chunkSize }) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, limit: which(cap, maxBytes, byRatio) };
    return { ok: false, corrupt: (error as Error).message };
  }
}

// The limit that capped the output; the total size first, as the streamed path checks it first.
function which(cap: number, maxBytes: number, byRatio: number): 'unpackedBytes' | 'ratio' | 'bigger' {
  if (cap === maxBytes) return 'unpackedBytes';
  if (cap === byRatio) return 'ratio';
  return 'bigger';
}
