// `worker-admin up`: not built yet (issue 4).
import { WorkerAdminError } from '../common/errors.js';

/** Placeholder until issue 4 lands: says so instead of pretending. */
export async function run(_argv: string[]): Promise<number> {
  throw new WorkerAdminError('INTERNAL', '`up` is not available yet (tracked in issue 4)');
}
