// The development loop of `up` (mode: development, one host; docs/repository.md): on request (SIGHUP) or on a change
// under the sources (`up --watch`), the sources are packed again; a version edited in place gets its keys and pivot
// replaced in the router's store and its running instances moved onto the new bytes by a rolling update.
import { watch, type FSWatcher } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Admin } from '../admin/admin.js';
import type { RepublishResult } from '../admin/update/republish.js';
import { refreshVersionConfiguration } from '../admin/version-configuration.js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { productKey } from '../common/names.js';
import { packSources, type SourcesPacked } from './sources.js';

/** What one reload did: the pack, and per re-published version what became of its running instances. */
interface ReloadResult extends SourcesPacked {
  /** `error`: the re-publish failed before any instance was touched (its configuration could not be fetched). */
  moved: Array<{ id: string; error?: string } & RepublishResult>;
}

interface DevLoopDeps {
  sources: readonly string[];
  repoDir: string;
  stateDir: string;
  admin: Pick<Admin, 'link' | 'context' | 'updates' | 'registry'>;
  logger: Logger;
}

/** Quiet time after the last change under the sources before a watch reloads (an editor saves in several writes). */
const WATCH_DEBOUNCE_MS = 300;

/** Reloads one at a time; a request made during a reload is served by one more reload after it, which sees it. */
export class DevLoop {
  private running: Promise<ReloadResult> | undefined;
  private next: Promise<ReloadResult> | undefined;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: DevLoopDeps) {}

  /** Packs the sources again and moves what runs an edited version onto its new bytes; rejects (logged) when the pack fails. */
  reload(why: string): Promise<ReloadResult> {
    if (this.closed) return Promise.reject(new Error('the development loop is closed: `up` is stopping'));
    if (this.running === undefined) {
      const run = this.run(why);
      this.running = run;
      const clear = (): void => { if (this.running === run) this.running = undefined; };
      run.then(clear, clear);
      return run;
    }
    const after = this.running.then(() => undefined, () => undefined);
    return (this.next ??= after.then(() => {
      this.next = undefined;
      return this.reload(why);
    }));
  }

  /** Reloads `debounceMs` after the last change under any source tree (editor backups, dot files and node_modules ignored). */
  watch(debounceMs = WATCH_DEBOUNCE_MS): void {
    for (const src of this.deps.sources) {
      const dir = resolve(src);
      try {
        const watcher = watch(dir, { recursive: true }, (_event, name) => {
          if (name !== null && !ignored(name)) this.schedule(debounceMs);
        });
        watcher.on('error', (error) => this.deps.logger.warn({ src: dir, err: errorMessage(error) }, 'watch of the connectors source failed: send SIGHUP to reload'));
        this.watchers.push(watcher);
      } catch (error) {
        // inotify limits (ENOSPC) or a missing folder: the loop still reloads on SIGHUP
        this.deps.logger.warn({ src: dir, err: errorMessage(error) }, 'cannot watch the connectors source: send SIGHUP to reload');
      }
    }
    if (this.watchers.length > 0) this.deps.logger.info({ sources: this.deps.sources, debounceMs }, 'development mode: watching the connectors sources');
  }

  /** Stops watching and waits for a reload under way. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) w.close();
    await this.running?.catch(() => undefined);
    await this.next?.catch(() => undefined);
  }

  private schedule(debounceMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('a file changed under the connectors source').catch(() => undefined), debounceMs);
  }

  private async run(why: string): Promise<ReloadResult> {
    const { admin, logger } = this.deps;
    logger.info({ why }, 'development mode: packing the connectors sources again');
    let packed: SourcesPacked;
    try {
      packed = await packSources({ sources: this.deps.sources, repoDir: this.deps.repoDir, stateDir: this.deps.stateDir, mode: 'development', logger });
    } catch (error) {
      logger.error({ err: errorMessage(error) }, 'development mode: the sources did not pack; the repository and the running instances are unchanged');
      throw error;
    }
    const moved: ReloadResult['moved'] = [];
    for (const v of packed.republished) {
      const id = `${productKey(v)}@${v.version}`;
      try {
        // the new keys and pivot first: the new processes are configured and validated from the store
        await refreshVersionConfiguration(v, { rpc: admin.link.rpc, repository: admin.context.repository, logger });
        moved.push({ id, ...(await admin.updates.updater.republished(v)) });
      } catch (error) {
        logger.error({ version: id, err: errorMessage(error) }, 'development-mode re-publish: its running instances keep the old bytes');
        moved.push({ id, moved: [], failed: [], error: errorMessage(error) });
      }
    }
    // `status` notes (removed from the repository) follow at once, not at the next periodic refresh
    await admin.context.catalog.refresh(admin.registry.all().filter((i) => i.live).map((i) => i.spec));
    logger.info({ republished: moved.map((m) => m.id), removed: packed.removed.map((r) => `${productKey(r)}@${r.version}`) }, 'development mode: reload done');
    return { ...packed, moved };
  }
}

/** Files whose change is no edit of a connector: editors' backups and swap files, dot files, installed dependencies. */
function ignored(name: string): boolean {
  const parts = name.split(sep);
  return name.endsWith('~') || parts.some((p) => p.startsWith('.') || p === 'node_modules' || p === '__pycache__');
}
