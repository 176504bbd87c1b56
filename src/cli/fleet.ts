// `worker-admin fleet SUBCOMMAND …`: dispatches to one file per fleet subcommand under src/cli/fleet/.
import type { Subcommand } from './main.js';
import { UsageError } from './args.js';

export const USAGE = 'fleet status [--ops ADDR] [--token TOKEN] [--state-dir DIR] [--json] | fleet demo [--dir DIR] [--connectors DIR] | fleet update TYPE/PRODUCT [--version V] [--max-parallel N] [--canary N] [--min-healthy 10s] [--timeout D] [--router ADDR] [--token TOKEN] [--state-dir DIR] | fleet rollout pause|resume|abort TYPE/PRODUCT [--router ADDR] [--token TOKEN] [--state-dir DIR]';

const FLEET: Record<string, () => Promise<Subcommand>> = {
  status: () => import('./fleet/status.js'),
  demo: () => import('./fleet/demo.js'),
  update: () => import('./fleet/update.js'),
  rollout: () => import('./fleet/rollout.js'),
};

/** Runs one `fleet` subcommand. */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = FLEET[name];
  if (!load) throw new UsageError(`unknown fleet subcommand ${JSON.stringify(name)}\nusage: worker-admin ${USAGE}`);
  return (await load()).run(rest);
}
