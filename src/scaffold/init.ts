// `worker-admin init TYPE/PRODUCT`: writes a new connector's source tree (all of it or nothing) and registers it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';
import { TYPE_PRODUCT_RE } from '../common/names.js';
import { pythonSdkDir } from '../packages/pack/python-entry.js';
import { registerConnector, type Registration } from './register.js';
import { commandName, SCAFFOLD_LANGS, scaffoldFiles, type ScaffoldLang } from './templates.js';

interface InitOptions {
  /** `type/product`. */
  name: string;
  lang: ScaffoldLang;
  /** The connectors folder (default ./connectors). */
  dir: string;
  /** The admin config to register the connector in (skipped when it does not exist). */
  config: string;
}

interface InitResult {
  type: string;
  product: string;
  command: string;
  /** The product's folder. */
  folder: string;
  files: string[];
  registration: Registration;
}

/** Checks the name, refuses an existing product, writes the tree through a hidden temp folder, then registers it. */
export async function initConnector(opts: InitOptions): Promise<InitResult> {
  const [type, product, ...rest] = opts.name.split('/');
  if (type === undefined || product === undefined || rest.length > 0 || !TYPE_PRODUCT_RE.test(type) || !TYPE_PRODUCT_RE.test(product)) {
    throw new WorkerAdminError('NAME_INVALID', `${JSON.stringify(opts.name)} is not TYPE/PRODUCT (each must match ${TYPE_PRODUCT_RE.source})`);
  }
  if (!SCAFFOLD_LANGS.includes(opts.lang)) throw new WorkerAdminError('CONFIG_INVALID', `--lang ${JSON.stringify(opts.lang)}: expected ${SCAFFOLD_LANGS.join(', ')}`);
  const folder = join(opts.dir, type, product);
  if (existsSync(folder)) throw new WorkerAdminError('CONFIG_INVALID', `${folder} already exists: ${type}/${product} is taken (nothing written)`);

  const typeDir = join(opts.dir, type);
  const newTypeDir = !existsSync(typeDir);
  // a dot-folder: `pack` and `up` never read a half-written product
  const temp = join(typeDir, `.init-${product}-${randomBytes(4).toString('hex')}`);
  const files = scaffoldFiles(type, product, opts.lang);
  try {
    for (const f of files) {
      const path = join(temp, f.path.slice(`${type}/${product}/`.length));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.text);
      if (f.executable) await chmod(path, 0o755);
    }
    if (opts.lang === 'exec') {
      // an executable worker is zipped as is: it carries its own copy of the SDK
      await cp(pythonSdkDir(), join(temp, '1/0/worker/worker_admin'), { recursive: true, filter: (src) => !src.includes('__pycache__') });
    }
    if (existsSync(folder)) throw new WorkerAdminError('CONFIG_INVALID', `${folder} appeared while writing: nothing written`);
    await rename(temp, folder);
  } catch (error) {
    await rm(newTypeDir ? typeDir : temp, { recursive: true, force: true });
    throw error;
  }
  const registration = await registerConnector(opts.config, type, product);
  return { type, product, command: commandName(product), folder, files: files.map((f) => join(opts.dir, f.path)), registration };
}
