// `worker-admin status`: not built yet (issue 6).
import { WorkerAdminError } from '../common/errors.js';

/** Placeholder until issue 6 lands: says so instead of pretending. */
export async function run(_argv: string[]): Promise<number> {
  throw new WorkerAdminError('INTERNAL', '`status` is not available yet (tracked in issue 6)');
}
