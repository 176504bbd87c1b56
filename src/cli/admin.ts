// `worker-admin admin [--config FILE]`: the admin alone, connecting to router.address with the admin token.
import { startAdmin } from '../admin/admin.js';
import { OpsMetrics } from '../ops/metrics/metrics.js';
import { startOps } from '../ops/ops.js';
import { loadAdminConfig } from '../config/admin-config.js';
import { WorkerAdminError } from '../common/errors.js';
import { readCredentials } from '../common/credentials.js';
import { parseCommandLine } from './args.js';
import { waitForSignal } from './signals.js';

const USAGE = 'admin [--config config/admin.yaml]';

/** Runs the admin until a signal, then drains every worker and exits 0. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, { config: { type: 'string' } }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const config = await loadAdminConfig(String(values['config'] ?? 'config/admin.yaml'));
  const adminToken = config.router.token ?? process.env['WORKER_ADMIN_TOKEN'] ?? (await readCredentials(config.stateDir))?.adminToken;
  if (!adminToken) {
    throw new WorkerAdminError('CONFIG_INVALID', `${config.file}: router.token is required to run the admin alone (or set WORKER_ADMIN_TOKEN)`);
  }
  const metrics = new OpsMetrics();
  const admin = await startAdmin({ config, adminToken, onPackage: (pkg, request) => metrics.packageProvided(pkg, request) });
  const ops = await startOps({ admin, config, adminToken, metrics }).catch(async (error: unknown) => {
    await admin.close();
    throw error;
  });
  process.stdout.write(`admin connected to ${config.router.target}\n  ops ${ops.address}\n`);
  await admin.startConfiguredConnectors();
  const signal = await waitForSignal();
  process.stdout.write(`${signal}: draining workers\n`);
  await ops.close();
  await admin.close();
  return 0;
}
