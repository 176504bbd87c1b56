// `worker-admin fleet apply FILE [--dry-run] [--reset-overrides]`: the file checked here first (same parser, errors with
// file:line), then ADMIN_FLEET_APPLY to the admin, which checks secrets and writes it; the changes printed.
import { readFile } from 'node:fs/promises';
import { isWorkerAdminError, replyError } from '../../common/errors.js';
import { parseDesiredFile } from '../../fleet/desired/file.js';
import { renderChange } from '../../fleet/desired/diff.js';
import type { ApplyResult } from '../../fleet/desired/store.js';
import { parseCommandLine, UsageError } from '../args.js';
import { CLIENT_OPTIONS, sendAdminCommand, whoAmI } from './admin-command.js';

export const USAGE = 'fleet apply FILE [--dry-run] [--reset-overrides] [--router ADDR] [--token TOKEN] [--state-dir DIR]';

/** Exit 0 when applied (or nothing to change, or a dry run), 1 with the reason. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    ...CLIENT_OPTIONS, 'dry-run': { type: 'boolean' }, 'reset-overrides': { type: 'boolean' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) throw new UsageError(`fleet apply takes one FILE\nusage: worker-admin ${USAGE}`);
  const fail = (reason: string): number => {
    process.stderr.write(`worker-admin fleet apply: ${reason}\n`);
    return 1;
  };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return fail(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    parseDesiredFile(text, file);
  } catch (error) {
    if (isWorkerAdminError(error)) return fail(replyError(error));
    throw error;
  }
  const dryRun = values['dry-run'] === true;
  const answer = await sendAdminCommand(values, 'ADMIN_FLEET_APPLY', {
    file, text, by: whoAmI(), ...(dryRun ? { dryRun } : {}), ...(values['reset-overrides'] ? { resetOverrides: true } : {}),
  });
  if (!answer.ok) return fail(answer.error);
  const { changes, applied } = answer.payload as ApplyResult;
  for (const change of changes) process.stdout.write(`${renderChange(change)}\n`);
  const count = `${changes.length} change${changes.length === 1 ? '' : 's'}`;
  if (changes.length === 0) process.stdout.write(`no change: the fleet's desired state is already ${file}\n`);
  else if (dryRun) process.stdout.write(`dry run: ${count}, nothing written\n`);
  else if (applied) process.stdout.write(`applied ${file}: ${count}\n`);
  return 0;
}
