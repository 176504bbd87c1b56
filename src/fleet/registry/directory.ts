// Every other host of the fleet as this host sees it: records watched in etcd, liveness from the lease and heartbeats.
import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from '../../common/log.js';
import { PROTOCOL } from '../transport/subjects.js';
import { parseHostRecord, type HostRecord, type ServedInstance } from './host-record.js';

interface KnownHost {
  record: HostRecord;
  /** Local time of the last heartbeat (or of the record, before the first one). */
  heardAt: number;
  /** No heartbeat for leaseTtl: not a candidate, its commands in flight answered HOST_LOST. */
  silent: boolean;
}

interface DirectoryEvents {
  /** An incarnation is gone for good (key deleted or replaced) or went silent: answer its commands in flight. */
  lost(host: string, incarnation: string, reason: string): void;
  /** Candidates may have changed: serve the queue again. */
  changed(): void;
}

/** The other hosts' records (this host excluded), kept current by a watch of K/hosts/. */
export class HostDirectory {
  private readonly hosts = new Map<string, KnownHost>();
  /** productsDeclaring's answers, by command, until a host record changes. */
  private readonly declaring = new Map<string, Set<string>>();
  private watcher: Watcher | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  /** Heartbeat silence is not judged while this host itself cannot hear (its NATS link is down). */
  private deafSince: number | undefined;
  /** Incarnations seen lost since start (metrics). */
  lostCount = 0;
  /** Last time the list of hosts was read from etcd (for `fleet status`: etcd reachable). */
  listedAt = 0;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly self: string,
    private readonly leaseTtlMs: number,
    private readonly events: DirectoryEvents,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lists K/hosts/ and watches it from the listed revision + 1; a broken watch lists again. */
  async start(): Promise<void> {
    await this.relist();
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, Math.floor(this.leaseTtlMs / 10)));
    this.sweeper.unref();
  }

  /** The live host `name`, when it is a candidate (not silent, speaks our protocol). */
  live(name: string): KnownHost | undefined {
    const known = this.hosts.get(name);
    return known && !known.silent && known.record.protocol === PROTOCOL ? known : undefined;
  }

  /** Every known host, silent ones included. */
  all(): KnownHost[] {
    return [...this.hosts.values()];
  }

  /** Hosts that may take new commands: live, not leaving, same protocol. */
  *candidates(): Iterable<{ record: HostRecord; instance: ServedInstance }> {
    for (const known of this.hosts.values()) {
      if (known.silent || known.record.state !== 'live' || known.record.protocol !== PROTOCOL) continue;
      for (const instance of known.record.serves) yield { record: known.record, instance };
    }
  }

  /** True when every other host takes batch messages (events go to all of them). */
  allTakeBatches(): boolean {
    for (const known of this.hosts.values()) if (known.record.batching !== true) return false;
    return true;
  }

  /** `type/product` of every other host's product declaring `command` (asked twice per command: kept until a record changes). */
  productsDeclaring(command: string): ReadonlySet<string> {
    let products = this.declaring.get(command);
    if (products !== undefined) return products;
    products = new Set<string>();
    for (const known of this.hosts.values()) {
      for (const d of known.record.declares) if (d.commands.includes(command)) products.add(d.product);
    }
    this.declaring.set(command, products);
    return products;
  }

  /** A heartbeat from `host`'s incarnation. */
  heard(host: string, incarnation: string): void {
    const known = this.hosts.get(host);
    if (!known || known.record.incarnation !== incarnation) return;
    known.heardAt = this.now();
    if (known.silent) {
      known.silent = false;
      this.logger.info({ host, incarnation }, 'fleet host heard again');
      this.events.changed();
    }
  }

  /** This host's NATS link went down (true) or came back (false): silence means nothing meanwhile. */
  deaf(isDeaf: boolean): void {
    if (isDeaf) this.deafSince ??= this.now();
    else {
      this.deafSince = undefined;
      const now = this.now();
      for (const known of this.hosts.values()) known.heardAt = Math.max(known.heardAt, now);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await this.watcher?.cancel().catch(() => undefined);
  }

  private async relist(): Promise<void> {
    if (this.closed) return;
    const response = await this.client.getAll().prefix(`${this.prefix}/hosts/`).exec();
    this.listedAt = this.now();
    const seen = new Set<string>();
    for (const kv of response.kvs) {
      const record = parseHostRecord(kv.value.toString());
      if (!record || record.name === this.self) continue;
      seen.add(record.name);
      this.upsert(record);
    }
    for (const [name, known] of [...this.hosts]) {
      if (!seen.has(name)) this.drop(name, known, 'its record is gone (lease expired)');
    }
    this.events.changed();
    await this.watch(BigInt(response.header.revision) + 1n);
  }

  private async watch(from: bigint): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    if (this.closed) return;
    const watcher = await this.client.watch().prefix(`${this.prefix}/hosts/`).startRevision(from.toString()).create();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const record = parseHostRecord(kv.value.toString());
      if (record && record.name !== this.self) {
        this.upsert(record);
        this.events.changed();
      }
    });
    watcher.on('delete', (kv) => {
      const name = kv.key.toString().slice(`${this.prefix}/hosts/`.length);
      const known = this.hosts.get(name);
      if (known) this.drop(name, known, 'its lease expired');
      this.events.changed();
    });
    watcher.on('connected', () => {
      this.listedAt = this.now();
    });
    watcher.on('error', (error) => {
      // a compacted revision (or any broken watch) is not re-created by etcd3: list again, then watch again
      this.logger.warn({ err: error }, 'fleet hosts watch broke: listing again');
      setTimeout(() => void this.relist().catch((e: unknown) => this.logger.warn({ err: e }, 'fleet hosts list failed')), 250).unref();
    });
  }

  private upsert(record: HostRecord): void {
    this.declaring.clear();
    const known = this.hosts.get(record.name);
    if (known && known.record.incarnation !== record.incarnation) {
      if (!known.silent) this.lostCount += 1;
      this.events.lost(record.name, known.record.incarnation, `it restarted (incarnation ${record.incarnation} replaced ${known.record.incarnation})`);
    }
    const sameIncarnation = known !== undefined && known.record.incarnation === record.incarnation;
    this.hosts.set(record.name, { record, heardAt: sameIncarnation ? known.heardAt : this.now(), silent: sameIncarnation ? known.silent : false });
  }

  private drop(name: string, known: KnownHost, reason: string): void {
    this.declaring.clear();
    this.hosts.delete(name);
    if (!known.silent) this.lostCount += 1;
    this.events.lost(name, known.record.incarnation, reason);
  }

  private sweep(): void {
    if (this.deafSince !== undefined) return;
    const now = this.now();
    for (const [name, known] of this.hosts) {
      if (known.silent || now - known.heardAt <= this.leaseTtlMs) continue;
      known.silent = true;
      this.lostCount += 1;
      this.logger.warn({ host: name, incarnation: known.record.incarnation, silentMs: now - known.heardAt }, 'fleet host silent: treated as lost');
      this.events.lost(name, known.record.incarnation, `no heartbeat for ${now - known.heardAt} ms`);
      this.events.changed();
    }
  }
}
