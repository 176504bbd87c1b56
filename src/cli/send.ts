// `worker-admin send`: not built yet (issue 2).
import { WorkerAdminError } from '../common/errors.js';

/** Placeholder until issue 2 lands: says so instead of pretending. */
export async function run(_argv: string[]): Promise<number> {
  throw new WorkerAdminError('INTERNAL', '`send` is not available yet (tracked in issue 2)');
}
