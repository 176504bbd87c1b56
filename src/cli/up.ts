// `worker-admin up [--config config/admin.yaml]`: router + admin + local repository; SIGINT/SIGTERM drain then exit 0.
// In development mode SIGHUP (and with --watch, a change under the sources) re-packs them (docs/repository.md).
import { createLogger } from '../common/log.js';
import { logFormat } from '../common/log-pretty.js';
import { loadAdminConfig } from '../config/admin-config.js';
import { startStack } from '../up/stack.js';
import { parseCommandLine, UsageError } from './args.js';
import { waitForSignal } from './signals.js';

const USAGE = 'up [--config config/admin.yaml] [--connectors DIR]… [--watch]';

/** Runs the whole stack until a signal. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, { config: { type: 'string' }, connectors: { type: 'string', multiple: true }, watch: { type: 'boolean' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  // JSON lines unless stderr is a terminal (or WORKER_ADMIN_LOG_FORMAT says otherwise)
  const logger = createLogger('worker-admin', { format: logFormat(process.env, process.stderr.isTTY === true) });
  const config = await loadAdminConfig(String(values['config'] ?? 'config/admin.yaml'));
  const dirs = values['connectors'] as string[] | undefined;
  const watch = values['watch'] === true;
  if (watch && (config.mode !== 'development' || config.fleet)) {
    throw new UsageError(`--watch re-publishes edited versions in place: only a single host in mode: development does (${config.file} says mode: ${config.mode}${config.fleet ? ', with a fleet' : ''})\nusage: worker-admin ${USAGE}`);
  }
  const stack = await startStack({ config, logger, env: process.env, ...(dirs && dirs.length > 0 ? { connectorsDir: dirs } : {}), ...(watch ? { watch: {} } : {}) });
  const signalled = waitForSignal(); // listening before "ready:" is printed: a SIGTERM right after it still drains
  const { devLoop } = stack;
  // the reload logs its outcome (a pack that fails leaves everything as it was)
  const reload = (): void => void devLoop?.reload('SIGHUP').catch(() => undefined);
  if (devLoop) process.on('SIGHUP', reload);
  const c = stack.credentials;
  process.stdout.write(`worker-admin up\n  router      ${c.router}\n  repository  ${c.repository}\n  ops         ${c.ops}\n  credentials ${config.stateDir}/credentials.json\n`);
  for (const s of stack.skipped) process.stdout.write(`  skipped     ${s.product}: ${s.reason}\n`);
  for (const w of stack.admin.registry.statuses()) {
    process.stdout.write(`  worker      ${w.identifier} ${w.product}@${w.version} ${w.state}${w.pid ? ` pid ${w.pid}` : ''}${w.reason ? ` (${w.reason})` : ''}\n`);
  }
  if (devLoop) process.stdout.write(`development: kill -HUP ${process.pid} re-packs the connectors sources${watch ? ' (and a change under them does)' : ''}\n`);
  process.stdout.write('ready: try  npx worker-admin send ECHO \'{"text":"hi"}\'\n');
  const signal = await signalled;
  process.off('SIGHUP', reload);
  process.stdout.write(`${signal}: draining workers\n`);
  await stack.close();
  process.stdout.write('stopped\n');
  return 0;
}
