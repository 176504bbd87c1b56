// What an unpacked package folder holds (relative path → sha256), so a cache hit can prove nobody edited it.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type Manifest = Record<string, string>;

/** The sha256 of every regular file under `dir`, by relative path ('/'-separated); symlinks and others are listed as such. */
export async function folderManifest(dir: string): Promise<Manifest> {
  const out: Manifest = {};
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out[path] = createHash('sha256').update(await readFile(join(dir, path))).digest('hex');
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
