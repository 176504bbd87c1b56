// `worker-admin repo`: not built yet (issue 3).
import { WorkerAdminError } from '../common/errors.js';

/** Placeholder until issue 3 lands: says so instead of pretending. */
export async function run(_argv: string[]): Promise<number> {
  throw new WorkerAdminError('INTERNAL', '`repo` is not available yet (tracked in issue 3)');
}
