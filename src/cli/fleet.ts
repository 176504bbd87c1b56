// `worker-admin fleet SUBCOMMAND …`: dispatches to one file per fleet subcommand under src/cli/fleet/.
import type { Subcommand } from './main.js';
import { UsageError } from './args.js';

export const USAGE = 'fleet status [--ops ADDR] [--token TOKEN] [--state-dir DIR] [--json] | fleet demo [--dir DIR] [--connectors DIR]'
  + ' | fleet apply FILE [--dry-run] [--reset-overrides] | fleet get [--json] | fleet cordon|uncordon|drain HOST'
  + ' | fleet update TYPE/PRODUCT [--version V] [--max-parallel N] [--canary N] [--min-healthy 10s] [--timeout D] | fleet rollout pause|resume|abort TYPE/PRODUCT'
  + ' (apply, get, cordon, uncordon, drain, update, rollout: [--router ADDR] [--token TOKEN] [--state-dir DIR])';

// cordon, uncordon and drain are one command with three modes
const hostMode = (mode: 'cordon' | 'uncordon' | 'drain') => async (): Promise<Subcommand> => {
  const { run } = await import('./fleet/cordon.js');
  return { run: (argv) => run(argv, mode) };
};

const FLEET: Record<string, () => Promise<Subcommand>> = {
  status: () => import('./fleet/status.js'),
  demo: () => import('./fleet/demo.js'),
  update: () => import('./fleet/update.js'),
  rollout: () => import('./fleet/rollout.js'),
  apply: () => import('./fleet/apply.js'),
  get: () => import('./fleet/get.js'),
  cordon: hostMode('cordon'),
  uncordon: hostMode('uncordon'),
  drain: hostMode('drain'),
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
