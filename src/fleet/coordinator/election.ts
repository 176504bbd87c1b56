// The coordinator's election (docs/fleet.md, the coordinator): our own create-if-absent transaction of K/coordinator
// on the host lease, not etcd3's Election helper (60 s TTL, a hidden create revision, a lost lease seen after ~2 x TTL).
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { FleetKeys } from '../keys.js';
import { withDeadline, type HostLeases } from '../registry/leases.js';
import { FencedWriter } from './fenced.js';

export type ElectionState = 'FOLLOWER' | 'COORDINATOR' | 'CLOSED';

const TRANSITIONS: Record<ElectionState, readonly ElectionState[]> = {
  FOLLOWER: ['COORDINATOR', 'CLOSED'],
  COORDINATOR: ['FOLLOWER', 'CLOSED'],
  CLOSED: [],
};

/** K/coordinator */
export interface CoordinatorKey {
  host: string;
  incarnation: string;
  since: number;
}

/** What the election needs of the host's leases (a new object after each re-registration). */
export type ElectionLease = Pick<HostLeases, 'hostId' | 'incarnation' | 'sinceRenewal'>;

export interface ElectionDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  host: string;
  /** The host's current leases; undefined while it has none (re-registering). */
  leases: () => ElectionLease | undefined;
  leaseTtlMs: number;
  logger: Logger;
  now?: () => number;
}

export interface ElectionEvents {
  onElected(createRevision: string): void;
  onDeposed(reason: string): void;
}

/** Steps down this long before the lease can have lapsed. */
const MARGIN_MS = 1000;

export class Election {
  state: ElectionState = 'FOLLOWER';
  /** The create revision of our election key while COORDINATOR. */
  revision: string | undefined;
  /** Writes of the current term (undefined while FOLLOWER). */
  writer: FencedWriter | undefined;
  /** When this host became coordinator (ms). */
  since: number | undefined;
  /** The lease our key lives on. */
  private leaseId: string | undefined;
  private watcher: Watcher | undefined;
  private watching = false;
  private ticker: NodeJS.Timeout | undefined;
  private stepDownTimer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private readonly now: () => number;

  constructor(
    private readonly deps: ElectionDeps,
    private readonly events: ElectionEvents,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Campaigns now, then on every deletion of K/coordinator and every leaseTtl/3 (a missed watch event). */
  start(): void {
    this.watch();
    const every = Math.max(200, Math.floor(this.deps.leaseTtlMs / 3));
    this.ticker = setInterval(() => this.check(), every);
    this.ticker.unref();
    this.check();
  }

  /** Looks again now: the lease may have changed (re-registration) or the key gone. */
  check(): void {
    if (this.state === 'CLOSED') return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.step().catch((error: unknown) => this.deps.logger.warn({ err: errorMessage(error) }, 'coordinator election: etcd did not answer, trying again'));
        } while (this.again && this.state !== 'CLOSED');
      } finally {
        this.running = false;
      }
    })();
  }

  /** Whether this host coordinates under `revision` now. */
  holds(revision: string): boolean {
    return this.state === 'COORDINATOR' && this.revision === revision && !this.stale();
  }

  /** Steps down (resigning when it can) and stops; the key, if ours, is deleted so a successor is elected at once. */
  async close(): Promise<void> {
    if (this.state === 'CLOSED') return;
    if (this.ticker) clearInterval(this.ticker);
    if (this.stepDownTimer) clearTimeout(this.stepDownTimer);
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.cancel().catch(() => undefined);
    const revision = this.revision;
    const was = this.state;
    this.transition('CLOSED');
    if (revision !== undefined) await this.resign(revision);
    if (was === 'COORDINATOR') this.events.onDeposed('closed');
  }

  private async step(): Promise<void> {
    if (this.state === 'CLOSED') return;
    if (!this.watcher) this.watch();
    const lease = this.deps.leases();
    if (this.state === 'COORDINATOR') {
      if (!lease || lease.hostId !== this.leaseId) return this.depose('this host re-registered with a new lease', true);
      if (this.stale()) return this.depose(`its lease was not renewed for ${lease.sinceRenewal()} ms`, true);
      const kv = await this.read();
      if (!kv || String(kv.create_revision) !== this.revision) return this.depose(`${this.deps.keys.coordinator} is no longer ours`, false);
      return;
    }
    if (!lease || lease.sinceRenewal() >= this.deps.leaseTtlMs - MARGIN_MS) return;
    await this.campaign(lease);
  }

  /** Create-if-absent on our lease; a key already on our lease (we stepped down and could not resign) is ours again. */
  private async campaign(lease: ElectionLease): Promise<void> {
    const { etcd, keys, host, logger } = this.deps;
    const value: CoordinatorKey = { host, incarnation: lease.incarnation, since: this.now() };
    const result = await withDeadline(
      etcd.if(keys.coordinator, 'Create', '==', 0).then(etcd.put(keys.coordinator).value(JSON.stringify(value)).lease(lease.hostId)).else(etcd.get(keys.coordinator)).commit(),
      2000,
    );
    if (this.state !== 'FOLLOWER' || this.deps.leases()?.hostId !== lease.hostId) {
      // closed or re-registered meanwhile: a key we just created must not outlive this term
      if (result.succeeded) await this.resign(String(result.header.revision));
      return;
    }
    if (result.succeeded) return this.elect(String(result.header.revision), lease, value.since);
    const kv = result.responses[0]?.response_range?.kvs[0];
    if (kv && String(kv.lease) === lease.hostId) {
      logger.info({ revision: String(kv.create_revision) }, 'coordinator election key still ours: coordinating again');
      return this.elect(String(kv.create_revision), lease, parseKey(kv)?.since ?? this.now());
    }
  }

  private elect(revision: string, lease: ElectionLease, since: number): void {
    this.transition('COORDINATOR');
    this.revision = revision;
    this.leaseId = lease.hostId;
    this.since = since;
    this.writer = new FencedWriter(this.deps, revision, {
      current: () => this.holds(revision),
      refused: (reason) => {
        if (this.revision === revision) this.depose(reason, false);
      },
    });
    this.deps.logger.info({ revision, incarnation: lease.incarnation }, 'elected coordinator of the fleet');
    this.scheduleStepDown();
    this.events.onElected(revision);
  }

  /** COORDINATOR → FOLLOWER; `resign`: delete our key if it is still there (a successor need not wait for the lease). */
  private depose(reason: string, resign: boolean): void {
    if (this.state !== 'COORDINATOR') return;
    const revision = this.revision!;
    this.transition('FOLLOWER');
    this.revision = undefined;
    this.writer = undefined;
    this.leaseId = undefined;
    this.since = undefined;
    if (this.stepDownTimer) clearTimeout(this.stepDownTimer);
    this.deps.logger.warn({ revision, reason }, 'no longer the coordinator of the fleet');
    this.events.onDeposed(reason);
    if (resign) void this.resign(revision);
    this.check();
  }

  /** No successful keepalive for leaseTtl − 1 s: the lease may lapse any moment. */
  private stale(): boolean {
    const lease = this.deps.leases();
    return !lease || lease.hostId !== this.leaseId || lease.sinceRenewal() >= this.deps.leaseTtlMs - MARGIN_MS;
  }

  /** A timer at the moment the lease turns stale, re-armed after every renewal. */
  private scheduleStepDown(): void {
    if (this.stepDownTimer) clearTimeout(this.stepDownTimer);
    if (this.state !== 'COORDINATOR') return;
    const lease = this.deps.leases();
    const left = lease ? this.deps.leaseTtlMs - MARGIN_MS - lease.sinceRenewal() : 0;
    this.stepDownTimer = setTimeout(() => {
      if (this.state !== 'COORDINATOR') return;
      if (this.stale()) this.depose(`its lease was not renewed for ${this.deps.leases()?.sinceRenewal() ?? '?'} ms`, true);
      else this.scheduleStepDown();
    }, Math.max(10, left));
    this.stepDownTimer.unref();
  }

  private async read(): Promise<IKeyValue | undefined> {
    const response = await withDeadline(this.deps.etcd.get(this.deps.keys.coordinator).exec(), 2000);
    return response.kvs[0];
  }

  private async resign(revision: string): Promise<void> {
    const { etcd, keys, logger } = this.deps;
    try {
      await withDeadline(etcd.if(keys.coordinator, 'Create', '==', revision).then(etcd.delete().key(keys.coordinator)).commit(), 2000);
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'coordinator key not deleted (etcd unreachable): it goes with the lease');
    }
  }

  private watch(): void {
    if (this.watching || this.state === 'CLOSED') return;
    this.watching = true;
    const { etcd, keys, logger } = this.deps;
    etcd.watch().key(keys.coordinator).create().then((watcher) => {
      if (this.state === 'CLOSED') return void watcher.cancel().catch(() => undefined);
      this.watcher = watcher;
      watcher.on('delete', (kv) => {
        // a deletion older than our key is not ours
        if (this.state === 'COORDINATOR' && BigInt(String(kv.mod_revision)) > BigInt(this.revision!)) this.depose(`${keys.coordinator} was deleted (lease lapsed)`, false);
        this.check();
      });
      watcher.on('put', (kv) => {
        if (this.state === 'COORDINATOR' && String(kv.create_revision) !== this.revision) this.depose(`${keys.coordinator} is held by another host`, false);
      });
      watcher.on('error', (error) => {
        logger.warn({ err: errorMessage(error) }, 'coordinator key watch broke: watching again');
        if (this.watcher === watcher) this.watcher = undefined;
        void watcher.cancel().catch(() => undefined);
      });
    }).catch((error: unknown) => {
      logger.warn({ err: errorMessage(error) }, 'coordinator key watch not created: trying again');
    }).finally(() => {
      this.watching = false;
    });
  }

  private transition(to: ElectionState): void {
    if (!TRANSITIONS[this.state].includes(to)) throw new Error(`coordinator election: ${this.state} → ${to} is not a transition`);
    this.state = to;
  }
}

/** K/coordinator as stored, or undefined when it is not one. */
export function parseKey(kv: IKeyValue): CoordinatorKey | undefined {
  try {
    const value = JSON.parse(kv.value.toString()) as Partial<CoordinatorKey>;
    if (typeof value.host !== 'string' || typeof value.incarnation !== 'string') return undefined;
    return { host: value.host, incarnation: value.incarnation, since: typeof value.since === 'number' ? value.since : 0 };
  } catch {
    return undefined;
  }
}
