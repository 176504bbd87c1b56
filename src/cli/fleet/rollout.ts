// `worker-admin fleet rollout pause|resume|abort TYPE/PRODUCT`: acts on the product's rollout in progress through
// ADMIN_FLEET_ROLLOUT (docs/fleet.md, a rollout). Exit 0 once the coordinator took the action; 1 otherwise.
import { parseProductRef, productKey } from '../../common/names.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, createRouterRpc } from '../../sdk/rpc.js';
import { parseCommandLine, UsageError } from '../args.js';
import { resolveClientTarget } from '../send.js';

export const USAGE = 'fleet rollout pause|resume|abort TYPE/PRODUCT [--router ADDR] [--token TOKEN] [--state-dir DIR]';

const ACTIONS = ['pause', 'resume', 'abort'];

/** Runs `fleet rollout ACTION TYPE/PRODUCT`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { router: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const [action, ref, ...extra] = positionals;
  if (action === undefined || !ACTIONS.includes(action) || ref === undefined || extra.length > 0) {
    throw new UsageError(`fleet rollout takes ${ACTIONS.join('|')} and one TYPE/PRODUCT\nusage: worker-admin ${USAGE}`);
  }
  const product = productKey(parseProductRef(ref));
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const target = await resolveClientTarget({
    ...(str('router') !== undefined ? { router: str('router')! } : {}),
    ...(str('token') !== undefined ? { token: str('token')! } : {}),
    ...(str('state-dir') !== undefined ? { stateDir: str('state-dir')! } : {}),
  }, true);
  const rpc = createRouterRpc({ address: target.router, token: target.token });
  try {
    const reply = await rpc.sendCommand({ command: 'ADMIN_FLEET_ROLLOUT', payload: JSON.stringify({ product, action }), timeout_ms: DEFAULT_COMMAND_TIMEOUT_MS });
    if (reply.status !== 'SUCCESS') {
      process.stderr.write(`worker-admin fleet rollout: ${reply.error}\n`);
      return 1;
    }
    const outcome = JSON.parse(reply.payload) as { rolloutId: string; state: string; taken: boolean };
    if (!outcome.taken) {
      process.stderr.write(`worker-admin fleet rollout: ${action} of ${product} (rollout ${outcome.rolloutId}) is written but the coordinator has not taken it yet (the rollout is ${outcome.state}); it acts on it when it passes\n`);
      return 1;
    }
    process.stdout.write(`${product}: rollout ${outcome.rolloutId} ${outcome.state} (${action})\n`);
    return 0;
  } finally {
    rpc.close();
  }
}
