// `worker-admin yank TYPE/PRODUCT@VERSION --to URL [--token-file F] --reason TEXT`.
import { createRemoteRepository } from '../publish/remote.js';
import { yank } from '../publish/yank.js';
import { parseCommandLine, UsageError } from './args.js';
import { parseVersionRef, readToken } from './publish-options.js';

const USAGE = 'yank TYPE/PRODUCT@VERSION --to URL [--token-file F] --reason TEXT';

/** Runs `yank`; prints what was yanked. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { to: { type: 'string' }, 'token-file': { type: 'string' }, reason: { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const to = values['to'];
  const reason = values['reason'];
  if (positionals.length !== 1 || typeof to !== 'string' || typeof reason !== 'string' || reason.trim() === '') {
    throw new UsageError(`expected TYPE/PRODUCT@VERSION, --to URL and --reason TEXT\nusage: worker-admin ${USAGE}`);
  }
  const ref = parseVersionRef(positionals[0]!, 'version');
  const remote = createRemoteRepository(to, { token: await readToken(values['token-file']) });
  const { entry, already } = await yank(remote, ref, reason);
  process.stdout.write(`${ref.type}/${ref.product}@${ref.version} ${already ? 'was already yanked' : 'yanked'}: ${entry.reason}\n`);
  return 0;
}
