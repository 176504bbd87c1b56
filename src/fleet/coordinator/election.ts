// The coordinator's election (docs/fleet.md, the coordinator): our own create-if-absent transaction of K/coordinator
// on the host lease, not etcd3's Election helper (60 s TTL, a hidden create revision, a lost lease seen after ~2 x TTL).
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { errorMessage } from '../../common/errors.js';
import { coalesced } from '../../common/coalesce.js';
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

interface ElectionDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  host: string;
  /** The host's current leases; undefined while it has none (re-registering). */
  leases: () => ElectionLease | undefined;
  leaseTtlMs: number;
  logger: Logger;
  now?: () => number;
}

interface ElectionEvents {
  onElected(createRevision: string): void;
  onDeposed(reason: string): void;
}

/** Steps down this long before the lease can have lapsed. */
const MARGIN_MS = 1000;

export class Election {
  state: ElectionState = 'FOLLOWER';
  /** Writes of this host refused by etcd because their term had ended (fencing at work). */
  fencedRefusals = 0;
  /** The create revision of our election key while COORDINATOR. */
  revision: string | undefined;
  /** Writes of the current term (undefined while FOLLOWER). */
  writer: FencedWriter | undefined;
  /** When this host became coordinator (ms). */
  since: number | undefined;
  /** Looks taken (a campaign, or a check of our key), and campaign transactions sent (for tests and metrics). */
  checks = 0;
  campaigns = 0;
  /** The lease our key lives on. */
  private leaseId: string | undefined;
  private watcher: Watcher | undefined;
  private watching = false;
  private ticker: NodeJS.Timeout | undefined;
  private stepDownTimer: NodeJS.Timeout | undefined;
  /** One look at a time; asked for during one, one more after it. */
  private readonly look = coalesced(
    () => this.step().catch((error: unknown) => this.deps.logger.warn({ err: errorMessage(error) }, 'coordinator election: etcd did not answer, trying again')),
    () => this.state === 'CLOSED',
  );
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
    this.ticker = setInterval(() => void this.check(), every);
    this.ticker.unref();
    void this.check();
  }

  /** Looks again now: the lease may have changed (re-registration) or the key gone. Resolves when the look is done. */
  check(): Promise<void> {
    if (this.state === 'CLOSED') return Promise.resolve();
    return this.look();
  }

  /** Whether this host coordinates under `revision` now. */
  holds(revision: string): boolean {
    return this.state === 'COORDINATOR' && this.revision === revision && !this.stale();
  }

  /** Steps down and stops; the key, if ours, is deleted (one try) so a successor is elected at once. */
  async close(): Promise<void> {
    if (this.state === 'CLOSED') return;
    if (this.ticker) clearInterval(this.ticker);
    if (this.stepDownTimer) clearTimeout(this.stepDownTimer);
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) await withDeadline(watcher.cancel(), 2000).catch(() => undefined);
    const revision = this.revision;
    const was = this.state;
    this.transition('CLOSED');
    this.writer?.end();
    this.writer = undefined;
    if (revision !== undefined) {
      await this.deleteKey(revision).catch((error: unknown) => this.deps.logger.warn({ err: errorMessage(error) }, 'coordinator key not deleted (etcd unreachable): it goes with the lease'));
    }
    if (was === 'COORDINATOR') this.events.onDeposed('closed');
  }

  private async step(): Promise<void> {
    if (this.state === 'CLOSED') return;
    this.checks += 1;
    if (!this.watcher) this.watch();
    const lease = this.deps.leases();
    if (this.state === 'COORDINATOR') {
      if (!lease || lease.hostId !== this.leaseId) return this.depose('this host re-registered with a new lease');
      if (this.stale()) return this.depose(`its lease was not renewed for ${lease.sinceRenewal()} ms`);
      const kv = await this.read();
      if (!kv || String(kv.create_revision) !== this.revision) return this.depose(`${this.deps.keys.coordinator} is no longer ours`);
      return;
    }
    if (!lease || lease.sinceRenewal() >= this.deps.leaseTtlMs - MARGIN_MS) return;
    // a read costs etcd less than a transaction with a write (which goes through consensus even when it fails)
    const kv = await this.read();
    if (kv && !(await this.clearOwn(kv))) return;
    await this.campaign(lease);
  }

  /**
   * A key held by this very host belongs to an earlier term (a step-down that could not delete it, an older lease):
   * it is deleted and never adopted. False when the key is another host's.
   */
  private async clearOwn(kv: IKeyValue): Promise<boolean> {
    if (parseKey(kv)?.host !== this.deps.host) return false;
    this.deps.logger.info({ revision: String(kv.create_revision) }, 'coordinator key of an earlier term of this host: deleting it');
    await this.deleteKey(String(kv.create_revision));
    return true;
  }

  /** Create-if-absent on our lease. */
  private async campaign(lease: ElectionLease): Promise<void> {
    const { etcd, keys, host } = this.deps;
    const value: CoordinatorKey = { host, incarnation: lease.incarnation, since: this.now() };
    this.campaigns += 1;
    const result = await withDeadline(
      etcd.if(keys.coordinator, 'Create', '==', 0).then(etcd.put(keys.coordinator).value(JSON.stringify(value)).lease(lease.hostId)).else(etcd.get(keys.coordinator)).commit(),
      2000,
    );
    if (this.state !== 'FOLLOWER' || this.deps.leases()?.hostId !== lease.hostId) {
      // closed or re-registered meanwhile: a key just created must not outlive this moment
      if (result.succeeded) await this.deleteKey(String(result.header.revision)).catch(() => undefined);
      return;
    }
    if (result.succeeded) return this.elect(String(result.header.revision), lease, value.since);
    const kv = result.responses[0]?.response_range?.kvs[0];
    if (kv && (await this.clearOwn(kv))) void this.look(); // our stale key went: look once more after this one
  }

  private elect(revision: string, lease: ElectionLease, since: number): void {
    this.transition('COORDINATOR');
    this.revision = revision;
    this.leaseId = lease.hostId;
    this.since = since;
    this.writer = new FencedWriter(this.deps, revision, {
      current: () => this.holds(revision),
      refused: (reason) => {
        this.fencedRefusals += 1;
        this.deps.logger.warn({ revision, reason }, 'fenced write refused: this host is no longer the coordinator of that term');
        if (this.revision === revision) void this.depose(reason);
      },
    });
    this.deps.logger.info({ revision, incarnation: lease.incarnation }, 'elected coordinator of the fleet');
    this.scheduleStepDown();
    this.events.onElected(revision);
  }

  /**
   * COORDINATOR → FOLLOWER: the term's writer ends, then our key is deleted if it is still there (retried until etcd
   * answers: the lease may have survived a cut-off, and a key left on a live lease would block every election).
   */
  private async depose(reason: string): Promise<void> {
    if (this.state !== 'COORDINATOR') return;
    const revision = this.revision!;
    this.transition('FOLLOWER');
    this.writer?.end();
    this.revision = undefined;
    this.writer = undefined;
    this.leaseId = undefined;
    this.since = undefined;
    if (this.stepDownTimer) clearTimeout(this.stepDownTimer);
    this.deps.logger.warn({ revision, reason }, 'no longer the coordinator of the fleet');
    this.events.onDeposed(reason);
    const following = (): boolean => this.state === 'FOLLOWER';
    for (let attempt = 0; following(); attempt += 1) {
      try {
        await this.deleteKey(revision);
        break;
      } catch (error) {
        this.deps.logger.warn({ err: errorMessage(error), attempt }, 'coordinator key not deleted (etcd did not answer): trying again');
        await new Promise((r) => setTimeout(r, Math.min(2000, 250 * 2 ** attempt)));
      }
    }
    void this.check();
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
      if (this.stale()) void this.depose(`its lease was not renewed for ${this.deps.leases()?.sinceRenewal() ?? '?'} ms`);
      else this.scheduleStepDown();
    }, Math.max(10, left));
    this.stepDownTimer.unref();
  }

  private async read(): Promise<IKeyValue | undefined> {
    const response = await withDeadline(this.deps.etcd.get(this.deps.keys.coordinator).exec(), 2000);
    return response.kvs[0];
  }

  /** Deletes K/coordinator if its create revision is `revision` (a key of another term is left alone); 2 s deadline. */
  private async deleteKey(revision: string): Promise<void> {
    const { etcd, keys } = this.deps;
    await withDeadline(etcd.if(keys.coordinator, 'Create', '==', revision).then(etcd.delete().key(keys.coordinator)).commit(), 2000);
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
        if (this.state === 'COORDINATOR' && BigInt(String(kv.mod_revision)) > BigInt(this.revision!)) void this.depose(`${keys.coordinator} was deleted (lease lapsed)`);
        void this.check();
      });
      watcher.on('put', (kv) => {
        if (this.state === 'COORDINATOR' && String(kv.create_revision) !== this.revision) void this.depose(`${keys.coordinator} is held by another host`);
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
