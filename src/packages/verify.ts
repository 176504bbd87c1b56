// Verify + unpack of a downloaded or cached zip: checksum and safe unpack into a temp folder, then rename.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';
import { sha256File } from './hash.js';
import type { PackageLimits } from './limits.js';
import { unpackZip, unpackZipBuffer, type UnpackOptions, type UnpackResult } from './unzip.js';

/** Checks `sha256` (when given) and unpacks `zipPath` to `dir`, replacing it; on refusal nothing of it is left. */
export async function verifyAndUnpack(opts: {
  zipPath: string;
  dir: string;
  limits: PackageLimits;
  sha256?: string | undefined;
  label?: string;
  /** Entries unpacked at once (default UNPACK_CONCURRENCY). */
  concurrency?: UnpackOptions['concurrency'];
}): Promise<UnpackResult & { sha256: string }> {
  const label = opts.label ?? opts.zipPath;
  const temp = join(dirname(opts.dir), `.unpack-${basename(opts.dir)}-${randomBytes(6).toString('hex')}`);
  try {
    // Read once: hashed in memory, then unpacked from the same buffer (no read per entry); a mismatch unpacks nothing.
    // Over the zipBytes limit it is hashed streaming (a mismatch is still said first) and never held in memory.
    const tooBig = (await stat(opts.zipPath)).size > opts.limits.zipBytes;
    const zip = tooBig ? undefined : await readFile(opts.zipPath);
    const actual = zip ? createHash('sha256').update(zip).digest('hex') : await sha256File(opts.zipPath);
    checkSha(label, opts.sha256, actual);
    const result = zip ? await unpackZipBuffer(zip, temp, opts.limits, label, { concurrency: opts.concurrency }) : await unpackZip(opts.zipPath, temp, opts.limits, label, { concurrency: opts.concurrency });
    await replaceDir(temp, opts.dir);
    return { ...result, sha256: actual };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** CHECKSUM_MISMATCH naming the package when `expected` is given and differs. */
export function checkSha(label: string, expected: string | undefined, actual: string): void {
  if (expected !== undefined && expected.toLowerCase() !== actual) {
    throw new WorkerAdminError('CHECKSUM_MISMATCH', `package ${label}: sha256 is ${actual}, versions.yaml lists ${expected.toLowerCase()}`);
  }
}

// Moves `temp` to `dir`; an older copy is moved aside first and removed after.
async function replaceDir(temp: string, dir: string): Promise<void> {
  const old = `${temp}.old`;
  const hadOld = await rename(dir, old).then(() => true, (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return false;
    throw error;
  });
  await rename(temp, dir);
  if (hadOld) await rm(old, { recursive: true, force: true });
}
