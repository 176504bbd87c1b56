// `pack --out` into an existing repository tree keeps published versions immutable: the same rules as `publish`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkerAdminError } from '../common/errors.js';
import type { PackPlan } from '../packages/pack/pack.js';
import { describeViolations, immutabilityViolations } from './immutability.js';

/** A pack's beforeWrite: refuses (VERSION_IMMUTABLE) what would change a version `out` lists; `force` logs and writes. */
export function immutableRepository(opts: { force: boolean; warn: (text: string) => void }): (plan: PackPlan) => Promise<void> {
  return async (plan) => {
    const read = (path: string): Promise<Buffer | null> => readFile(join(plan.out, ...path.split('/'))).catch(() => null);
    const violations = await immutabilityViolations(read, plan);
    if (violations.length === 0) return;
    const text = describeViolations(violations);
    if (!opts.force) throw new WorkerAdminError('VERSION_IMMUTABLE', `${plan.out} lists these versions already (nothing written; publish a new version or major, or --force):\n${text}`);
    for (const line of text.split('\n')) opts.warn(`--force: replacing what is published: ${line}`);
  };
}
