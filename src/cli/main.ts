// `worker-admin` entry point: one file per subcommand under src/cli/, loaded on demand.
import { errorMessage, isWorkerAdminError } from '../common/errors.js';
import { USAGE as FLEET_USAGE } from './fleet.js';

/** What a subcommand module exports. */
export interface Subcommand {
  run(argv: string[]): Promise<number>;
}

const SUBCOMMANDS: Record<string, { usage: string; summary: string; load: () => Promise<Subcommand> }> = {
  up: { usage: 'up [--config config/admin.yaml] [--connectors DIR]… [--watch]', summary: 'router + admin + a local repository packed from ./connectors or each --connectors DIR (the main job; --watch: development mode follows edits)', load: () => import('./up.js') },
  router: { usage: 'router [--listen ADDR] [--state-dir DIR] [--token-file FILE] [--insecure] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]', summary: 'run the router alone', load: () => import('./router.js') },
  admin: { usage: 'admin [--config config/admin.yaml]', summary: 'run the admin alone, connecting to router.address', load: () => import('./admin.js') },
  send: { usage: 'send COMMAND [JSON|@FILE|-] [--product TYPE/PRODUCT] [--target ID] [--major N] [--uuid UUID] [--timeout 30s] [--router ADDR] [--token TOKEN] [--state-dir DIR]', summary: 'send a command, print the Reply as JSON (exit 0 on SUCCESS)', load: () => import('./send.js') },
  events: { usage: 'events [--topic admin]… [--event NAME]… [--router ADDR] [--token TOKEN] [--state-dir DIR]', summary: 'print events as JSON lines', load: () => import('./events.js') },
  fetch: { usage: 'fetch TYPE/PRODUCT[@RANGE] --repository URL [--out DIR]', summary: 'fetch and verify a worker package (steps 1-2)', load: () => import('./fetch.js') },
  init: { usage: 'init TYPE/PRODUCT [--lang ts|python|exec] [--dir connectors] [--config config/admin.yaml]', summary: 'scaffold a new connector (keys, pivot, worker) and register it', load: () => import('./init.js') },
  pack: { usage: 'pack SRC_DIR --out REPO_DIR [--force]', summary: 'build a repository tree from a connectors/-style tree', load: () => import('./pack.js') },
  repo: { usage: 'repo serve DIR [--listen HOST:PORT] [--upload-token-file FILE]', summary: 'serve a repository over HTTP', load: () => import('./repo.js') },
  publish: { usage: 'publish SRC_DIR --to URL [--token-file F] [--only TYPE/PRODUCT@VERSION,…] [--sign KEY] [--dry-run] [--force]', summary: 'pack and upload every version the repository lacks, versions.yaml last', load: () => import('./publish.js') },
  yank: { usage: 'yank TYPE/PRODUCT@VERSION --to URL [--token-file F] --reason TEXT', summary: 'take a version out of latest, ranges and updates (still fetchable exactly)', load: () => import('./yank.js') },
  status: { usage: 'status [--ops ADDR] [--token TOKEN] [--state-dir DIR]', summary: 'what the ops API says, as a table', load: () => import('./status.js') },
  logs: { usage: 'logs [IDENTIFIER] [--follow] [--lines N] [--run N] [--ops ADDR] [--token TOKEN] [--state-dir DIR]', summary: "workers' output through the ops API, prefixed identifier@version (admin token)", load: () => import('./logs.js') },
  fleet: { usage: FLEET_USAGE, summary: 'a fleet: its hosts, instances and engines as a table (status); nats-server + etcd + a repository + 3 hosts on this machine (demo); its desired state (apply, get); a host taken out of placement (cordon, drain) or back (uncordon); a fleet rolling update, waiting for its end (update); pause, resume or abort one (rollout)', load: () => import('./fleet.js') },
};

/** The help text listing every subcommand. */
function helpText(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((n) => n.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}\n  ${' '.repeat(width)}  worker-admin ${s.usage}`);
  return `worker-admin — connector manager: router, admin, repository\n\nUsage: worker-admin <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'worker-admin <command> --help' for a command's options.\n`;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { VERSION } = await import('../common/version.js');
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    process.stderr.write(`worker-admin: unknown command ${JSON.stringify(name)}\n\n${helpText()}`);
    return 2;
  }
  try {
    const mod = await sub.load();
    return await mod.run(rest);
  } catch (error) {
    const code = isWorkerAdminError(error) ? `${error.code}: ` : '';
    process.stderr.write(`worker-admin ${name}: ${code}${errorMessage(error)}\n`);
    return isWorkerAdminError(error, 'CONFIG_INVALID') || (error as { name?: string }).name === 'UsageError' ? 2 : 1;
  }
}
