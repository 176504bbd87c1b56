// Under `up` in development mode the local repository mirrors ./connectors (docs/repository.md, development loop):
// an edited version is re-published in place (logged as such; dev-loop.ts moves its running instances onto the new
// bytes), a version gone from the source is gone from the repository. In production a listed version is never
// rewritten: the immutability rules refuse the edit.
import { readdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import type { PackPlan } from '../packages/pack/pack.js';
import { immutableRepository } from '../publish/local-guard.js';
import { zipPath } from '../repository/paths.js';
import { parseVersionsYaml } from '../repository/versions.js';
import { versionsYamlText } from '../repository/yanked.js';

interface VersionId { type: string; product: string; version: string }

/** A version whose listed bytes a development-mode pack replaced: `sha256` is the new zip's. */
export interface RepublishedId extends VersionId { sha256: string }

/** The pack hook of `up`: development records (and logs) versions re-published with other bytes; production refuses them. */
export function upPackGuard(mode: 'development' | 'production', logger: Logger): { beforeWrite: (plan: PackPlan) => Promise<void>; republished: RepublishedId[] } {
  const republished: RepublishedId[] = [];
  if (mode === 'production') {
    return { republished, beforeWrite: immutableRepository({ force: false, warn: (text) => logger.warn(text) }) };
  }
  return {
    republished,
    async beforeWrite(plan) {
      for (const v of plan.versions) {
        const file = join(plan.out, v.type, v.product, 'versions.yaml');
        const listed = await readFile(file, 'utf8').then((t) => parseVersionsYaml(t, { file }), () => []);
        const was = listed.find((e) => e.version === v.version)?.sha256;
        if (was === undefined || was === v.sha256) continue;
        republished.push({ type: v.type, product: v.product, version: v.version, sha256: v.sha256 });
        logger.warn({ product: `${v.type}/${v.product}`, version: v.version, from: was, to: v.sha256 }, 'development-mode re-publish: the version was edited in place (production would refuse this)');
      }
    },
  };
}

/** Removes from `repoDir` every listed version the sources no longer have (its versions.yaml entry, then its zip). */
export async function pruneRemoved(repoDir: string, kept: ReadonlySet<string>, logger: Logger): Promise<VersionId[]> {
  const removed: VersionId[] = [];
  for (const type of await dirs(repoDir)) {
    for (const product of await dirs(join(repoDir, type))) {
      const file = join(repoDir, type, product, 'versions.yaml');
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text === null) continue;
      const listed = parseVersionsYaml(text, { file });
      const gone = listed.filter((e) => !kept.has(`${type}/${product}@${e.version}`));
      if (gone.length === 0) continue;
      // the listing first: no admin is ever shown a version whose zip is already deleted
      const temp = `${file}.prune`;
      await writeFile(temp, versionsYamlText(listed.filter((e) => !gone.includes(e))));
      await rename(temp, file);
      for (const e of gone) {
        await rm(join(repoDir, ...zipPath(type, product, e.version).split('/')), { force: true });
        removed.push({ type, product, version: e.version });
      }
      logger.info({ product: `${type}/${product}`, removed: gone.map((e) => e.version) }, 'development mode: versions no longer in the connectors source were removed from the local repository');
    }
  }
  return removed;
}

async function dirs(path: string): Promise<string[]> {
  return (await readdir(path, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}
