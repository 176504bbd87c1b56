// A live copy of every key under one etcd prefix: listed, then watched from the listed revision + 1; a broken watch
// (compacted revision, lost stream) lists again. Used for the keys a host follows (desired products, its assignments).
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { withDeadline } from '../registry/leases.js';

export class PrefixMirror {
  /** Values by key (the full key). */
  readonly values = new Map<string, string>();
  /** The mod revision of each value, by key. */
  readonly revisions = new Map<string, string>();
  private watcher: Watcher | undefined;
  private closed = false;
  private listed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    /** Told after every change: `list` for what a (re)list found, `watch` for one event as it happened. */
    private readonly onChange: (cause: 'list' | 'watch') => void,
    private readonly logger: Logger,
  ) {}

  /** Lists the prefix (2 s deadline) and watches it; resolves once listed. */
  async start(): Promise<void> {
    await this.relist();
  }

  /** True once the first list succeeded. */
  get ready(): boolean {
    return this.listed;
  }

  /** Lists again now (a host back from a loss reads what changed meanwhile before acting on it). */
  async relist(): Promise<void> {
    if (this.closed) return;
    const response = await withDeadline(this.client.getAll().prefix(this.prefix).exec(), 2000);
    this.values.clear();
    this.revisions.clear();
    for (const kv of response.kvs) this.keep(kv);
    this.listed = true;
    this.onChange('list');
    await this.watch(BigInt(response.header.revision) + 1n);
  }

  private keep(kv: IKeyValue): void {
    this.values.set(kv.key.toString(), kv.value.toString());
    this.revisions.set(kv.key.toString(), String(kv.mod_revision));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.cancelWatch();
  }

  /** Ends the current watch (2 s deadline: etcd3 waits for the server's answer, which a broken stream never gives). */
  private async cancelWatch(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) await withDeadline(watcher.cancel(), 2000).catch(() => undefined);
  }

  private async watch(from: bigint): Promise<void> {
    await this.cancelWatch();
    if (this.closed) return;
    const creating = this.client.watch().prefix(this.prefix).startRevision(from.toString()).create();
    let watcher: Watcher;
    try {
      watcher = await withDeadline(creating, 2000);
    } catch (error) {
      void creating.then((late) => late.cancel()).catch(() => undefined); // one created after all must not stay open
      throw error;
    }
    if (this.closed) return void watcher.cancel().catch(() => undefined);
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      this.keep(kv);
      this.onChange('watch');
    });
    watcher.on('delete', (kv) => {
      this.values.delete(kv.key.toString());
      this.revisions.delete(kv.key.toString());
      this.onChange('watch');
    });
    watcher.on('error', (error) => {
      this.logger.warn({ err: errorMessage(error), prefix: this.prefix }, 'etcd watch broke: listing again');
      const retry = (): void => {
        void this.relist().catch((e: unknown) => {
          this.logger.warn({ err: errorMessage(e), prefix: this.prefix }, 'etcd list failed: trying again');
          if (!this.closed) setTimeout(retry, 1000).unref();
        });
      };
      if (!this.closed) setTimeout(retry, 250).unref();
    });
  }
}
