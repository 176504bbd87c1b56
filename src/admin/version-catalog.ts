// Which listed entry a version is (versions.yaml, or yanked.yaml for an exact version), its signature checked against
// repository.trustedKeys before anything is fetched, and the notes `status` shows for running versions the repository
// yanked or no longer lists (docs/repository.md, yanking).
import type { KeyObject } from 'node:crypto';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { RepositoryClient } from '../repository/client.js';
import { checkSignature } from '../repository/signature.js';
import type { VersionEntry } from '../repository/versions.js';

/** A version as the repository lists it; `yanked` holds the reason when only yanked.yaml has it. */
interface CatalogEntry {
  entry: VersionEntry;
  yanked?: string;
}

export class VersionCatalog {
  private readonly notes = new Map<string, string>();

  constructor(
    private readonly repository: Pick<RepositoryClient, 'listVersions' | 'listYanked'>,
    private readonly trusted: readonly KeyObject[],
    private readonly logger: Logger,
  ) {}

  /** The entry of an exact version (versions.yaml first, then yanked.yaml), signature checked; VERSION_NOT_FOUND otherwise. */
  async entry(type: string, product: string, version: string): Promise<CatalogEntry> {
    const label = `${type}/${product}@${version}`;
    const listed = (await this.repository.listVersions(type, product)).find((e) => e.version === version);
    let found: CatalogEntry | undefined = listed ? { entry: listed } : undefined;
    if (!found) {
      const yanked = (await this.repository.listYanked(type, product)).find((e) => e.version === version);
      if (yanked) found = { entry: yanked, yanked: yanked.reason };
    }
    if (!found) throw new WorkerAdminError('VERSION_NOT_FOUND', `${type}/${product}: version ${version} is not in versions.yaml (nor in yanked.yaml)`);
    this.setNote(label, found.yanked === undefined ? undefined : `yanked: ${found.yanked}`);
    this.checkSigned(label, found.entry);
    return found;
  }

  /** Refuses an entry no trusted key signed (PACKAGE_REJECTED: signature …); nothing to check without trusted keys. */
  checkSigned(label: string, entry: VersionEntry | undefined): void {
    checkSignature(label, entry, this.trusted);
  }

  /** Reads the repository again for the running versions given, so that `status` says which were yanked or removed. */
  async refresh(running: ReadonlyArray<{ type: string; product: string; version: string }>): Promise<void> {
    const products = new Map<string, { type: string; product: string; versions: Set<string> }>();
    for (const r of running) {
      const key = `${r.type}/${r.product}`;
      const p = products.get(key) ?? { type: r.type, product: r.product, versions: new Set<string>() };
      products.set(key, p);
      p.versions.add(r.version);
    }
    await Promise.all([...products.values()].map(async (p) => {
      try {
        const listed = new Set((await this.repository.listVersions(p.type, p.product)).map((e) => e.version));
        const yanked = new Map((await this.repository.listYanked(p.type, p.product)).map((e) => [e.version, e.reason]));
        for (const version of p.versions) {
          const label = `${p.type}/${p.product}@${version}`;
          const reason = yanked.get(version);
          this.setNote(label, listed.has(version) ? undefined : reason !== undefined ? `yanked: ${reason}` : 'removed from the repository: the running instances keep running');
        }
      } catch (error) {
        this.logger.debug({ product: `${p.type}/${p.product}`, err: errorMessage(error) }, 'repository notes not refreshed');
      }
    }));
  }

  /** What `status` says about a running version, if anything. */
  note(type: string, product: string, version: string): string | undefined {
    return this.notes.get(`${type}/${product}@${version}`);
  }

  private setNote(label: string, note: string | undefined): void {
    if (note === undefined) this.notes.delete(label);
    else this.notes.set(label, note);
  }
}
