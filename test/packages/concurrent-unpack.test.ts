// Entries unpacked concurrently: a refused package reports the entry the sequential order reports (the lowest index),
// and nothing of it is left on disk, even with a slow bad entry in flight while later ones fail fast.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SMALL_ENTRY_BYTES } from '../../src/packages/entry-bytes.js';
import { DEFAULT_PACKAGE_LIMITS, type PackageLimits } from '../../src/packages/limits.js';
import { unpackZipBuffer } from '../../src/packages/unzip.js';
import { verifyAndUnpack } from '../../src/packages/verify.js';
import { createCleanup, makeZip, patchBytes, tempDir, type TestZipFile } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const WORKER: TestZipFile = { name: 'worker.mjs', data: 'export {};\n' };

// 40 small files in a few folders, random (stored blocks: a flipped byte is a CRC-32 mismatch) or text.
const manyFiles = (): TestZipFile[] =>
  Array.from({ length: 40 }, (_, i) => ({
    name: `lib/d${i % 5}/f${String(i).padStart(3, '0')}.${i % 2 ? 'bin' : 'js'}`,
    data: i % 2 ? randomBytes(8 * 1024) : `export const n${i} = ${i};\n`.repeat(200),
  }));

// Flips a byte of `data` (found by its first 32 bytes) inside `zip`, `from` bytes in.
function corrupt(zip: Buffer, data: Buffer, from: number): Buffer {
  const at = zip.indexOf(data.subarray(0, 32));
  if (at < 0) throw new Error('data not found (not stored as is)');
  const out = Buffer.from(zip);
  out[at + from] = (out[at + from] ?? 0) ^ 0xff;
  return out;
}

// Sets the uncompressed size the central directory declares for `name` (what the unpack trusts).
function declare(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let at = out.indexOf(CENTRAL); at >= 0; at = out.indexOf(CENTRAL, at + 4)) {
    const length = out.readUInt16LE(at + 28);
    if (out.subarray(at + 46, at + 46 + length).toString() === name) {
      out.writeUInt32LE(size, at + 24);
      return out;
    }
  }
  throw new Error(`${name} not in the central directory`);
}
const CENTRAL = Buffer.from([0x50, 0x4b, 0x01, 0x02]);

interface Outcome {
  code?: string;
  message: string;
  left: string[];
}

// verifyAndUnpack with `concurrency`; what it threw and what is left beside the zip (it settles every entry in
// flight before it throws, so what is on disk then is final).
async function outcome(zip: Buffer, concurrency: number, limits: Partial<PackageLimits> = {}): Promise<Outcome> {
  const root = tempDir(cleanup);
  const zipPath = join(root, 'p.zip');
  await writeFile(zipPath, zip);
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const error = await verifyAndUnpack({ zipPath, dir: join(root, 'out'), limits: { ...DEFAULT_PACKAGE_LIMITS, ...limits }, sha256, concurrency }).then(
    () => undefined,
    (e: unknown) => e as { code?: string; message: string },
  );
  if (error === undefined) throw new Error('the package was not refused');
  const left = (await readdir(root, { recursive: true })).filter((p) => p !== 'p.zip').sort();
  // The temp folder's name is random: only the rest of the message is compared.
  return { code: error.code, message: error.message.replaceAll(root, '<root>').replace(/\.unpack-out-[0-9a-f]+/g, '<temp>'), left };
}

// The same refusal, with nothing left, one entry at a time and 8 at once.
async function sameAsSequential(zip: Buffer, pattern: RegExp, limits: Partial<PackageLimits> = {}): Promise<void> {
  const one = await outcome(zip, 1, limits);
  expect(one).toMatchObject({ code: 'PACKAGE_REJECTED', message: expect.stringMatching(pattern), left: [] });
  expect(await outcome(zip, 8, limits)).toEqual(one);
}

describe('concurrent unpack', () => {
  it('unpacks many entries byte for byte, whatever the concurrency', async () => {
    const files = [WORKER, ...manyFiles(), { name: 'big/large.bin', data: randomBytes(SMALL_ENTRY_BYTES + 10) }];
    const zip = await makeZip(files);
    for (const concurrency of [1, 8]) {
      const root = tempDir(cleanup);
      const zipPath = join(root, 'p.zip');
      await writeFile(zipPath, zip);
      const result = await verifyAndUnpack({ zipPath, dir: join(root, 'out'), limits: DEFAULT_PACKAGE_LIMITS, concurrency });
      expect(result).toMatchObject({ entries: files.length, bytes: files.reduce((n, f) => n + Buffer.byteLength(f.data), 0), entry: 'worker.mjs' });
      for (const f of files) expect((await readFile(join(root, 'out', f.name))).equals(Buffer.from(f.data))).toBe(true);
    }
  });

  it('a slow bad entry in the middle wins over later bad entries that fail first; nothing is left', async () => {
    const large = randomBytes(SMALL_ENTRY_BYTES + 64 * 1024); // streamed, its CRC known only at its end
    const small = randomBytes(8 * 1024);
    const files = manyFiles();
    files.splice(20, 0, { name: 'mid/large.bin', data: large });
    files.splice(24, 0, { name: 'mid/small.bin', data: small });
    files.push({ name: 'zz/x', data: 'evil' });
    const zip = await makeZip([WORKER, ...files]);
    const bothBad = corrupt(corrupt(zip, large, large.length - 100), small, 100);
    await sameAsSequential(bothBad, /^package .*: entry "mid\/large\.bin": CRC-32 mismatch/);
    // A later entry refused by its name (before it starts) does not win over the earlier one still in flight.
    await sameAsSequential(patchBytes(corrupt(zip, large, large.length - 100), 'zz/x', '../x'), /entry "mid\/large\.bin": CRC-32 mismatch/);
    // The small one alone: it is the first bad entry.
    await sameAsSequential(corrupt(zip, small, 100), /entry "mid\/small\.bin": (CRC-32 mismatch|cannot be unpacked)/);
  });

  it('declared sizes are reserved in order: the entry that passes unpackedBytes is named, whatever is in flight', async () => {
    const files = [WORKER, ...manyFiles()];
    const limit = files.slice(0, 31).reduce((n, f) => n + Buffer.byteLength(f.data), 0) + 10;
    const name = files[31]?.name ?? '';
    await sameAsSequential(await makeZip(files), new RegExp(`entry "${name.replace(/\./g, '\\.')}": declared size would take the package over the unpackedBytes limit of ${limit}`), { unpackedBytes: limit });
  });

  it('a file and then a folder of the same name is refused as in order, naming the second entry', async () => {
    const files = [WORKER, ...manyFiles().slice(0, 10), { name: 'lib/same', data: randomBytes(64 * 1024) }, { name: 'lib/same/inner.txt', data: 'x' }];
    await sameAsSequential(await makeZip(files), /entry "lib\/same\/inner\.txt": cannot create its folder/);
  });

  it('a streamed entry that unpacks to more than it declares is refused with its full count, writing no more than declared', async () => {
    const declared = SMALL_ENTRY_BYTES + 64 * 1024;
    const big = randomBytes(declared + 64 * 1024);
    const zip = declare(await makeZip([WORKER, ...manyFiles(), { name: 'big/lie.bin', data: big }, ...manyFiles().map((f) => ({ ...f, name: `z${f.name}` }))]), 'big/lie.bin', declared);
    const message = new RegExp(`entry "big/lie\\.bin": ${big.length} bytes unpacked, ${declared} declared \\(corrupt data\\)`);
    await sameAsSequential(zip, message);
    // Without the temp folder's removal: what the refused entry left is at most its declared size.
    const dest = join(tempDir(cleanup), 'out');
    await expect(unpackZipBuffer(zip, dest, DEFAULT_PACKAGE_LIMITS, 'p', { concurrency: 8 })).rejects.toMatchObject({ message: expect.stringMatching(message) });
    expect((await stat(join(dest, 'big/lie.bin'))).size).toBeLessThanOrEqual(declared);
  });
});
