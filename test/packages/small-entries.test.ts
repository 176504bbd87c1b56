// Unpack from the zip in memory: small entries in one piece and large ones streamed keep every check of docs/configuration.md.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SMALL_ENTRY_BYTES } from '../../src/packages/entry-bytes.js';
import { DEFAULT_PACKAGE_LIMITS } from '../../src/packages/limits.js';
import { verifyAndUnpack } from '../../src/packages/verify.js';
import { createCleanup, makeZip, tempDir, type TestZipFile } from '../helpers/repo.js';

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const WORKER: TestZipFile = { name: 'worker.mjs', data: 'export {};\n' };

async function unpack(zip: Buffer, limits: Partial<typeof DEFAULT_PACKAGE_LIMITS> = {}) {
  const dir = tempDir(cleanup);
  const zipPath = join(dir, 'p.zip');
  await writeFile(zipPath, zip);
  const sha256 = createHash('sha256').update(zip).digest('hex');
  return { dir: join(dir, 'out'), result: verifyAndUnpack({ zipPath, dir: join(dir, 'out'), limits: { ...DEFAULT_PACKAGE_LIMITS, ...limits }, sha256 }) };
}

// The offset of the first `needle` in `zip` after `from`.
const find = (zip: Buffer, needle: Buffer, from = 0): number => {
  const at = zip.indexOf(needle, from);
  if (at < 0) throw new Error('needle not found');
  return at;
};

describe('unpack from memory', () => {
  it('small and large (streamed) entries come out byte for byte', async () => {
    const small = Buffer.from('hello '.repeat(1000));
    const random = randomBytes(64 * 1024);
    const large = Buffer.concat([randomBytes(SMALL_ENTRY_BYTES), Buffer.from('tail')]);
    const { dir, result } = await unpack(await makeZip([WORKER, { name: 'a/s.txt', data: small }, { name: 'a/r.bin', data: random }, { name: 'b/l.bin', data: large }]));
    expect(await result).toMatchObject({ entries: 4, entry: 'worker.mjs' });
    // Buffer.equals: a deep toEqual of megabytes takes seconds.
    expect((await readFile(join(dir, 'a/s.txt'))).equals(small)).toBe(true);
    expect((await readFile(join(dir, 'a/r.bin'))).equals(random)).toBe(true);
    expect((await readFile(join(dir, 'b/l.bin'))).equals(large)).toBe(true);
  });

  it('a flipped byte in stored data is a CRC-32 mismatch; in deflated data it does not unpack', async () => {
    const data = randomBytes(4096);
    const stored = await makeZip([WORKER, { name: 'x.bin', data }]);
    const at = find(stored, data.subarray(0, 32));
    const bad = Buffer.from(stored);
    bad[at + 100] = (bad[at + 100] ?? 0) ^ 0xff;
    await expect((await unpack(bad)).result).rejects.toMatchObject({ code: 'PACKAGE_REJECTED', message: expect.stringMatching(/entry "x\.bin": (CRC-32 mismatch|cannot be unpacked)/) });
  });

  it('an entry that unpacks to more than it declares is refused, small or not', async () => {
    const zeros = Buffer.alloc(100_000);
    await expect((await unpack(await makeZip([WORKER, { name: 'z.bin', data: zeros }]), { ratio: 50 })).result)
      .rejects.toMatchObject({ message: expect.stringMatching(/entry "z\.bin": compression ratio over 50:1/) });
    await expect((await unpack(await makeZip([WORKER, { name: 'z.bin', data: zeros }]), { unpackedBytes: 50_000 })).result)
      .rejects.toMatchObject({ message: expect.stringMatching(/unpackedBytes/) });
  });

  it('data cut short inside an entry is refused, naming the entry', async () => {
    const data = randomBytes(8192);
    const zip = await makeZip([WORKER, { name: 'cut.bin', data }]);
    // Keep the central directory but move it over the entry's data: local header offsets now point past good data.
    const at = find(zip, data.subarray(0, 32));
    const broken = Buffer.concat([zip.subarray(0, at + 16), zip.subarray(at + 16 + 4096)]);
    await expect((await unpack(broken)).result).rejects.toMatchObject({ code: 'PACKAGE_REJECTED' });
  });
});
