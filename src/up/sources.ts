// The connectors source trees of `up` packed into its local repository: at start, and again on each development-mode
// reload (dev-loop.ts). Development mirrors the sources (edits re-published, removals pruned); production refuses edits.
import { join, resolve } from 'node:path';
import type { Logger } from '../common/log.js';
import { productKey } from '../common/names.js';
import type { AdminMode } from '../config/types.js';
import { pruneRemoved, upPackGuard, type RepublishedId } from './mirror.js';

/** What `up` did with each connector version of one source tree: packed now, or left as it was (same inputs). */
export interface StackPack {
  src: string;
  versions: Array<{ id: string; sha256: string; result: 'packed' | 'unchanged' }>;
}

/** One pass over the sources. */
export interface SourcesPacked {
  packs: StackPack[];
  /** Versions listed before whose bytes changed (development mode only: production refuses them). */
  republished: RepublishedId[];
  /** Versions gone from the sources, removed from the repository (development mode only). */
  removed: Array<{ type: string; product: string; version: string }>;
}

interface PackSourcesOptions {
  sources: readonly string[];
  repoDir: string;
  stateDir: string;
  mode: AdminMode;
  logger: Logger;
}

/** Packs every source tree into `repoDir` (a version with unchanged inputs is not bundled again). */
export async function packSources(opts: PackSourcesOptions): Promise<SourcesPacked> {
  const { logger } = opts;
  const guard = upPackGuard(opts.mode, logger);
  const packs: StackPack[] = [];
  const { packRepository, packSession } = await import('../packages/pack/pack.js'); // loaded only when there is something to pack
  await packSession(async () => {
    for (const src of opts.sources) {
      // a version whose inputs (its sources, the SDK, node_modules, the packer) did not change is not bundled again
      const result = await packRepository({ src: resolve(src), out: opts.repoDir, reuseRecords: join(opts.stateDir, 'pack-records'), beforeWrite: guard.beforeWrite });
      const versions = result.versions.map((v) => ({ id: `${productKey(v)}@${v.version}`, sha256: v.sha256, result: v.result }));
      packs.push({ src, versions });
      const ids = (which: string): string[] => versions.filter((v) => v.result === which).map((v) => v.id);
      logger.info({ src, packed: ids('packed'), unchanged: ids('unchanged') }, 'connectors packed');
    }
  });
  const removed = opts.mode === 'development'
    ? await pruneRemoved(opts.repoDir, new Set(packs.flatMap((p) => p.versions.map((v) => v.id))), logger)
    : [];
  return { packs, republished: guard.republished, removed };
}
