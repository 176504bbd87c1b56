// Reads a connectors/-style source tree (docs/repository.md, source layout): its yaml files and its worker folders.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkerAdminError } from '../../common/errors.js';
import { TYPE_PRODUCT_RE } from '../../common/names.js';

/** One version found in the source tree. */
export interface SourceVersion {
  type: string;
  product: string;
  version: string;
  workerDir: string;
}

/** What `pack` copies and builds. */
interface SourceTree {
  /** Paths relative to the source root (and to the repository root), `/`-separated, sorted. */
  yamlFiles: string[];
  versions: SourceVersion[];
}

const NUMBER_RE = /^(0|[1-9]\d*)$/;
const PIVOT_RE = /^(0|[1-9]\d*)_configuration\.yaml$/;

/** Scans `src`; folders that do not fit the layout are refused by name, so typos do not vanish silently. */
export async function scanSource(src: string): Promise<SourceTree> {
  const yamlFiles: string[] = [];
  const versions: SourceVersion[] = [];
  for (const type of await subdirs(src)) {
    need(TYPE_PRODUCT_RE.test(type), join(src, type), 'a type folder name must match ' + TYPE_PRODUCT_RE.source);
    if (await isFile(join(src, type, 'keys.yaml'))) yamlFiles.push(`${type}/keys.yaml`);
    for (const product of await subdirs(join(src, type))) {
      const pdir = join(src, type, product);
      need(TYPE_PRODUCT_RE.test(product), pdir, 'a product folder name must match ' + TYPE_PRODUCT_RE.source);
      for (const name of (await readdir(pdir)).sort()) {
        if (name === 'keys.yaml' || PIVOT_RE.test(name)) yamlFiles.push(`${type}/${product}/${name}`);
      }
      for (const major of await subdirs(pdir)) {
        need(NUMBER_RE.test(major), join(pdir, major), 'a major folder name must be a number');
        if (await isFile(join(pdir, major, 'keys.yaml'))) yamlFiles.push(`${type}/${product}/${major}/keys.yaml`);
        for (const minor of await subdirs(join(pdir, major))) {
          const vdir = join(pdir, major, minor);
          need(NUMBER_RE.test(minor), vdir, 'a minor folder name must be a number');
          if (await isFile(join(vdir, 'keys.yaml'))) yamlFiles.push(`${type}/${product}/${major}/${minor}/keys.yaml`);
          const workerDir = join(vdir, 'worker');
          need(await isDir(workerDir), vdir, 'a version folder must hold a worker/ folder');
          versions.push({ type, product, version: `${major}.${minor}`, workerDir });
        }
      }
    }
  }
  return { yamlFiles: yamlFiles.sort(), versions };
}

function need(ok: boolean, path: string, why: string): void {
  if (!ok) throw new WorkerAdminError('CONFIG_INVALID', `${path}: ${why}`);
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: unknown) => {
    throw new WorkerAdminError('NOT_FOUND', `${dir}: cannot read the folder (${(error as Error).message})`, { cause: error });
  });
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}
