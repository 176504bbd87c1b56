// `worker-admin publish SRC_DIR --to URL [--token-file F] [--only TYPE/PRODUCT@VERSION,…] [--sign KEY] [--dry-run] [--force]`.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createProgressBar } from '../packages/progress.js';
import { publish, type PublishReporter } from '../publish/publish.js';
import { createRemoteRepository } from '../publish/remote.js';
import { loadSigningKey } from '../repository/signature.js';
import { parseCommandLine, UsageError } from './args.js';
import { parseVersionRef, readToken } from './publish-options.js';

const USAGE = 'publish SRC_DIR --to URL [--token-file F] [--only TYPE/PRODUCT@VERSION,…] [--sign KEY] [--dry-run] [--force]';

/** Runs `publish`; exit 0 when everything is published, 1 on a refusal (nothing uploaded). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    to: { type: 'string' }, 'token-file': { type: 'string' }, only: { type: 'string', multiple: true }, sign: { type: 'string' },
    'dry-run': { type: 'boolean' }, force: { type: 'boolean' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const to = values['to'];
  if (positionals.length !== 1 || typeof to !== 'string') throw new UsageError(`expected SRC_DIR and --to URL\nusage: worker-admin ${USAGE}`);
  const only = ((values['only'] ?? []) as string[]).flatMap((list) => list.split(',')).filter((s) => s.trim() !== '').map((s) => parseVersionRef(s.trim(), '--only'));
  const keyFile = values['sign'];
  const signKey = typeof keyFile === 'string' ? loadSigningKey(await readFile(keyFile, 'utf8'), keyFile) : undefined;
  const remote = createRemoteRepository(to, { token: await readToken(values['token-file']) });
  const tty = process.stderr.isTTY === true;
  const reporter: PublishReporter = {
    line: (text) => process.stdout.write(`${text}\n`),
    warn: (text) => process.stderr.write(`worker-admin publish: ${text}\n`),
    ...(tty ? { progress: (label: string) => {
      const bar = createProgressBar(process.stderr, label);
      return { update: (sent: number, total: number) => bar.update(sent, total), done: () => bar.done() };
    } } : {}),
  };
  await publish({ src: resolve(positionals[0]!), remote, only: only.length > 0 ? only : undefined, signKey, dryRun: values['dry-run'] === true, force: values['force'] === true, reporter });
  return 0;
}
