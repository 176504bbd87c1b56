// `worker-admin pack SRC_DIR --out REPO_DIR`: builds a repository tree from a connectors/-style tree.
import { resolve } from 'node:path';
import { packRepository } from '../packages/pack/pack.js';
import { immutableRepository } from '../publish/local-guard.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'pack SRC_DIR --out REPO_DIR [--force]';

/** Runs `pack`; prints one line per packed version with its sha256. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const out = values['out'];
  if (positionals.length !== 1 || typeof out !== 'string') throw new UsageError(`expected SRC_DIR and --out REPO_DIR\nusage: worker-admin ${USAGE}`);
  // a version the tree already lists keeps its zip and layer-4 keys (docs/repository.md, immutability)
  const beforeWrite = immutableRepository({ force: values['force'] === true, warn: (text) => process.stderr.write(`worker-admin pack: ${text}\n`) });
  const result = await packRepository({ src: resolve(positionals[0]!), out: resolve(out), beforeWrite });
  for (const v of result.versions) process.stdout.write(`${v.type}/${v.product}@${v.version} ${v.sha256} ${v.zip}\n`);
  process.stdout.write(`packed ${result.versions.length} version(s) and ${result.yamlFiles.length} yaml file(s) into ${resolve(out)}\n`);
  return 0;
}
