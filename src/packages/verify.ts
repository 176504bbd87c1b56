// Verify + unpack of a downloaded or cached zip: checksum and safe unpack into a temp folder, then rename.
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';
import { sha256File } from './hash.js';
import type { PackageLimits } from './limits.js';
import { unpackZip, type UnpackResult } from './unzip.js';

/** Checks `sha256` (when given) and unpacks `zipPath` to `dir`, replacing it; on refusal nothing of it is left. */
export async function verifyAndUnpack(opts: {
  zipPath: string;
  dir: string;
  limits: PackageLimits;
  sha256?: string | undefined;
  label?: string;
}): Promise<UnpackResult & { sha256: string }> {
  const label = opts.label ?? opts.zipPath;
  const temp = join(dirname(opts.dir), `.unpack-${basename(opts.dir)}-${randomBytes(6).toString('hex')}`);
  try {
    // Hash and unpack run together (both read the same cached pages); a mismatch throws the unpacked copy away.
    // allSettled: the temp folder is removed only once the unpack has stopped writing into it.
    const [hashed, unpacked] = await Promise.allSettled([sha256File(opts.zipPath), unpackZip(opts.zipPath, temp, opts.limits, label)]);
    if (hashed.status === 'rejected') throw hashed.reason;
    const actual = hashed.value;
    checkSha(label, opts.sha256, actual);
    if (unpacked.status === 'rejected') throw unpacked.reason;
    const result = unpacked.value;
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
