// The files of a worker folder as zip inputs: relative `/` paths, bytes, executable bit; symlinks and devices refused.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { WorkerAdminError } from '../../common/errors.js';
import type { ZipInput } from './zip-writer.js';

/** Every file under `root`, except entries whose name `skip` returns true for (not descended into). */
export async function listFiles(root: string, skip: (name: string) => boolean = () => false, dir = root): Promise<ZipInput[]> {
  const out: ZipInput[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, skip, path)));
    else if (e.isFile()) {
      const info = await stat(path);
      out.push({ path: relative(root, path).split(sep).join('/'), data: await readFile(path), executable: (info.mode & 0o111) !== 0 });
    } else throw new WorkerAdminError('CONFIG_INVALID', `${path}: only files and folders can be packed (no symlinks or devices)`);
  }
  return out;
}
