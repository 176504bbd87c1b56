// `worker-admin fleet rollout pause|resume|abort TYPE/PRODUCT`: acts on the product's rollout in progress through
// ADMIN_FLEET_ROLLOUT (docs/fleet.md, a rollout). Exit 0 once the coordinator took the action; 1 otherwise.
import { parseProductRef, productKey } from '../../common/names.js';
import { parseCommandLine, UsageError } from '../args.js';
import { CLIENT_OPTIONS, sendAdminCommand } from './admin-command.js';

export const USAGE = 'fleet rollout pause|resume|abort TYPE/PRODUCT [--router ADDR] [--token TOKEN] [--state-dir DIR]';

const ACTIONS = ['pause', 'resume', 'abort'];

/** Runs `fleet rollout ACTION TYPE/PRODUCT`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, CLIENT_OPTIONS, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const [action, ref, ...extra] = positionals;
  if (action === undefined || !ACTIONS.includes(action) || ref === undefined || extra.length > 0) {
    throw new UsageError(`fleet rollout takes ${ACTIONS.join('|')} and one TYPE/PRODUCT\nusage: worker-admin ${USAGE}`);
  }
  const product = productKey(parseProductRef(ref));
  const answer = await sendAdminCommand(values, 'ADMIN_FLEET_ROLLOUT', { product, action });
  if (!answer.ok) {
    process.stderr.write(`worker-admin fleet rollout: ${answer.error}\n`);
    return 1;
  }
  const outcome = answer.payload as { rolloutId: string; state: string; taken: boolean };
  if (!outcome.taken) {
    process.stderr.write(`worker-admin fleet rollout: ${action} of ${product} (rollout ${outcome.rolloutId}) is written but the coordinator has not taken it yet (the rollout is ${outcome.state}); it acts on it when it passes\n`);
    return 1;
  }
  process.stdout.write(`${product}: rollout ${outcome.rolloutId} ${outcome.state} (${action})\n`);
  return 0;
}
