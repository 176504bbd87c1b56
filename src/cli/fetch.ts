// `worker-admin fetch TYPE/PRODUCT[@RANGE] --repository URL [--out DIR]`: steps 1-2 from the command line.
import { resolve } from 'node:path';
import { parseProductRef, VERSION_RE } from '../common/names.js';
import { createPackageCache } from '../packages/cache.js';
import { createRepositoryClient } from '../repository/client.js';
import { mergeKeys, redactKeys } from '../repository/keys.js';
import { compilePivot } from '../repository/pivot.js';
import { resolveVersion } from '../repository/versions.js';
import { parseCommandLine, UsageError } from './args.js';
import { createProgressBar } from '../packages/progress.js';

const USAGE = 'fetch TYPE/PRODUCT[@RANGE] --repository URL [--out DIR]';

/** Runs `fetch`: resolves the version, fetches keys and pivot, downloads, verifies and unpacks; prints JSON. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { repository: { type: 'string' }, out: { type: 'string', short: 'o' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const url = values['repository'];
  if (positionals.length !== 1 || typeof url !== 'string') throw new UsageError(`expected TYPE/PRODUCT[@RANGE] and --repository URL\nusage: worker-admin ${USAGE}`);
  const [ref = '', range = 'latest'] = positionals[0]!.split('@', 2);
  const { type, product } = parseProductRef(ref);
  const stateDir = resolve(typeof values['out'] === 'string' ? values['out'] : '.worker-admin');
  const repository = createRepositoryClient({ url });
  const listed = await repository.listVersions(type, product);
  // an exact version yanked from versions.yaml is still fetched (from yanked.yaml); ranges never see it
  const yanked = VERSION_RE.test(range) && !listed.some((e) => e.version === range) ? (await repository.listYanked(type, product)).find((e) => e.version === range) : undefined;
  if (yanked) process.stderr.write(`worker-admin fetch: ${type}/${product}@${range} is yanked: ${yanked.reason}\n`);
  const chosen = yanked ?? resolveVersion(listed, range, `${type}/${product}`);
  const conf = await repository.fetchConfiguration(type, product, chosen.version);
  const keys = mergeKeys(conf.layers);
  const pivot = compilePivot(conf.pivot);
  const bar = process.stderr.isTTY ? createProgressBar(process.stderr, `${type}/${product}@${chosen.version}`) : undefined;
  const cache = createPackageCache({ stateDir, repository });
  const pkg = await cache.ensure({ type, product, version: chosen.version, sha256: chosen.sha256, ...(bar ? { onProgress: bar.update } : {}) }).finally(() => bar?.done());
  const out = { product: `${type}/${product}`, version: chosen.version, sha256: pkg.sha256, path: pkg.dir, keys: redactKeys(keys), commands: pivot.commandNames };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}
