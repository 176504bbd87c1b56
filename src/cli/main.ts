// `worker-admin` entry point: one file per subcommand under src/cli/, loaded on demand.
import { errorMessage, isWorkerAdminError } from '../common/errors.js';

/** What a subcommand module exports. */
export interface Subcommand {
  run(argv: string[]): Promise<number>;
}

const SUBCOMMANDS: Record<string, { usage: string; summary: string; load: () => Promise<Subcommand> }> = {
  up: { usage: 'up [--config config/admin.yaml]', summary: 'router + admin + local repository from ./connectors (the main job)', load: () => import('./up.js') },
  router: { usage: 'router [--listen ADDR] [--state-dir DIR] [--token-file FILE] [--insecure] [--tls-cert PEM --tls-key PEM [--tls-ca PEM]]', summary: 'run the router alone', load: () => import('./router.js') },
  admin: { usage: 'admin [--config FILE]', summary: 'run the admin alone, connecting to router.address', load: () => import('./admin.js') },
  send: { usage: 'send COMMAND [JSON|@FILE|-] [--target ID] [--timeout 30s] [--router ADDR] [--token TOKEN] [--state-dir DIR]', summary: 'send a command, print the Reply as JSON (exit 0 on SUCCESS)', load: () => import('./send.js') },
  events: { usage: 'events [--topic admin] [--router ADDR] [--token TOKEN] [--state-dir DIR]', summary: 'print events as JSON lines', load: () => import('./events.js') },
  fetch: { usage: 'fetch TYPE/PRODUCT[@RANGE] --repository URL [--out DIR]', summary: 'fetch and verify a worker package (steps 1-2)', load: () => import('./fetch.js') },
  pack: { usage: 'pack SRC_DIR --out REPO_DIR', summary: 'build a repository tree from a connectors/-style tree', load: () => import('./pack.js') },
  repo: { usage: 'repo serve DIR [--listen ADDR] [--upload-token-file FILE]', summary: 'serve a repository over HTTP', load: () => import('./repo.js') },
  status: { usage: 'status [--ops ADDR] [--token TOKEN] [--state-dir DIR]', summary: 'what the ops API says, as a table', load: () => import('./status.js') },
  fleet: { usage: 'fleet status [--ops ADDR] [--token TOKEN] [--state-dir DIR] [--json] | fleet demo [--dir DIR] [--connectors DIR]', summary: 'a fleet: its hosts, instances and engines as a table (status); nats-server + etcd + a repository + 3 hosts on this machine (demo)', load: () => import('./fleet.js') },
};

/** The help text listing every subcommand. */
export function helpText(): string {
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
