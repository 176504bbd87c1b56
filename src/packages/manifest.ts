// What an unpacked package folder holds (relative path → sha256), so a cache hit can prove nobody edited it.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from './hash.js';

export type Manifest = Record<string, string>;

/** Reads a file's sha256; a FileHasher may answer from what it already read. */
type HashFile = (path: string) => Promise<string>;

const hashWhole: HashFile = async (path) => createHash('sha256').update(await readFile(path)).digest('hex');

/** The sha256 of every regular file under `dir`, by relative path ('/'-separated); symlinks and others are listed as such. */
export async function folderManifest(dir: string, hashFile: HashFile = hashWhole): Promise<Manifest> {
  const out: Manifest = {};
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out[path] = await hashFile(join(dir, path));
      else out[path] = `not a regular file`;
    }
  };
  await walk('');
  return out;
}

/** The first difference between two manifests, for a message; undefined when they are the same. */
export function manifestDifference(expected: Manifest, actual: Manifest): string | undefined {
  for (const [path, sha] of Object.entries(expected)) {
    if (actual[path] === undefined) return `${path} is missing`;
    if (actual[path] !== sha) return `${path} was changed`;
  }
  const extra = Object.keys(actual).find((path) => expected[path] === undefined);
  return extra === undefined ? undefined : `${extra} was added`;
}

/**
 * A file whose change time is at least this old when it is read can be remembered by its stat: a later write lands
 * in a later timestamp tick (filesystems with 1–2 s timestamps included), so it shows in mtime/ctime. A younger file
 * could be rewritten within the same tick with the same size and look unchanged ("racy" as git calls it): always read.
 */
export const SETTLED_MS = 2_000;

/** What identifies one version of a file's content without reading it. */
function stampOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

/**
 * sha256 of files, remembered in this process by (dev, ino, size, mtime, ctime): a file whose stat is the same as
 * when it was hashed is not read again. Any write, truncation, `touch`, chmod or replacement changes ctime (which
 * user space cannot set back) or the inode, so an edited file is always read again; files changed less than
 * SETTLED_MS before their read are never remembered. A cache hit of a 1 MB worker re-read and re-hashed its zip and
 * folder on every start: 200 starts were ~600 MB of buffers to allocate and free, and ~1 s of CPU.
 */
export class FileHasher {
  private readonly known = new Map<string, { stamp: string; sha256: string }>();

  constructor(private readonly now: () => number = Date.now, private readonly read: HashFile = sha256File) {}

  /** The file's sha256, read only when its stat differs from the last read (or the file was too fresh then). */
  readonly hash: HashFile = async (path) => {
    const before = await stat(path); // followed like the read: a re-pointed symlink shows as another inode
    const stamp = stampOf(before);
    const known = this.known.get(path);
    if (known?.stamp === stamp) return known.sha256;
    const readAt = this.now();
    const sha256 = await this.read(path);
    const after = await stat(path);
    if (stampOf(after) === stamp && readAt - Math.max(after.mtimeMs, after.ctimeMs) >= SETTLED_MS) this.known.set(path, { stamp, sha256 });
    else this.known.delete(path);
    return sha256;
  };

  /** Forgets everything under `dir` (a folder about to be replaced) or that one file. */
  forget(prefix: string): void {
    for (const path of this.known.keys()) if (path === prefix || path.startsWith(`${prefix}/`)) this.known.delete(path);
  }

  /** How many files are remembered (tests). */
  get size(): number {
    return this.known.size;
  }
}
