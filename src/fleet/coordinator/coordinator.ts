// The fleet's coordinator on one host (docs/fleet.md, the coordinator): campaigns, and while elected runs one pass at a
// time, triggered by watches of what it decides from and by a timer every leaseTtl / 3 (deadlines: lost hosts, rollouts),
// and the policies' ticks on their schedules.
import type { Etcd3, Watcher } from 'etcd3';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { FleetKeys } from '../keys.js';
import type { PlacementGaps } from '../placement/types.js';
import { withDeadline } from '../registry/leases.js';
import { Election, parseKey, type CoordinatorKey, type ElectionLease, type ElectionState } from './election.js';
import type { FencedWriter } from './fenced.js';
import { runPass, type ResolveVersion, type RolloutHook } from './pass.js';

interface CoordinatorDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  /** This host's name (fleet.host). */
  host: string;
  /** The host's current leases (a new object after each re-registration). */
  leases: () => ElectionLease | undefined;
  leaseTtlMs: number;
  reassignAfterMs: number;
  resolveVersion: ResolveVersion;
  rollouts?: RolloutHook;
  /** Policy ticks (docs/fleet.md, policies): run beside the passes for as long as a term lasts. */
  policies?: TermWork;
  logger: Logger;
  now?: () => number;
}

/** Work that runs for a whole term on its own schedule, writing through the term's writer. */
interface TermWork {
  begin(writer: FencedWriter): void;
  /** The term ended: nothing more is written from it. Idempotent. */
  end(): void;
}

/** This host's side of the coordination, for `fleet status` and the logs. */
interface CoordinatorLocalStatus {
  state: ElectionState;
  /** When this host became coordinator; null while it is not. */
  since: number | null;
  passes: number;
  lastPass: { at: number; error: string | null } | null;
  missing: PlacementGaps['missing'];
}

/** Passes run at most this often when triggers come in a burst. */
const DEBOUNCE_MS = 50;

export class Coordinator {
  readonly election: Election;
  private watchers: Watcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  /** The current term (while COORDINATOR): every pass captures it when it starts and ends with it. */
  private term: { writer: FencedWriter; since: number } | undefined;
  private passes = 0;
  private lastPass: CoordinatorLocalStatus['lastPass'] = null;
  private missing: PlacementGaps['missing'] = [];
  private readonly now: () => number;

  constructor(private readonly deps: CoordinatorDeps) {
    this.now = deps.now ?? Date.now;
    this.election = new Election({ ...deps, logger: deps.logger.child({ component: 'fleet-election' }) }, {
      onElected: () => this.elected(),
      onDeposed: () => this.deposed(),
    });
  }

  start(): void {
    this.election.start();
  }

  /** The host re-registered with a new lease: campaign on it now rather than at the next tick. */
  reRegistered(): Promise<void> {
    return this.election.check();
  }

  /** Asks for a pass soon (coalesced): the rollout runner calls it when it waits on nothing etcd would announce. */
  poke(): void {
    if (this.election.state !== 'COORDINATOR' || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.schedule();
    }, DEBOUNCE_MS);
    this.debounce.unref();
  }

  status(): CoordinatorLocalStatus {
    return { state: this.election.state, since: this.election.since ?? null, passes: this.passes, lastPass: this.lastPass, missing: this.missing };
  }

  /** Resigns (a successor is elected at once) after the pass in flight. */
  async close(): Promise<void> {
    this.stopWork();
    await this.running;
    await this.election.close();
  }

  private elected(): void {
    const { etcd, keys, logger, leaseTtlMs } = this.deps;
    this.term = { writer: this.election.writer!, since: this.now() };
    const prefixes = [keys.desiredPrefix, keys.overridesPrefix, keys.hostsPrefix, keys.reportsPrefix, keys.cordonsPrefix, keys.rolloutRequestsPrefix, keys.rolloutControlPrefix];
    for (const prefix of prefixes) {
      etcd.watch().prefix(prefix).create().then((watcher) => {
        if (this.election.state !== 'COORDINATOR') return void watcher.cancel().catch(() => undefined);
        this.watchers.push(watcher);
        watcher.on('data', () => this.poke());
        // etcd3 re-creates a watch after a reconnect; a broken one is covered by the timer's passes
        watcher.on('error', (error) => logger.warn({ err: errorMessage(error), prefix }, 'coordinator watch broke: the timer keeps passes going'));
      }).catch((error: unknown) => logger.warn({ err: errorMessage(error), prefix }, 'coordinator watch not created: the timer keeps passes going'));
    }
    this.timer = setInterval(() => this.poke(), Math.max(200, Math.floor(leaseTtlMs / 3)));
    this.timer.unref();
    this.poke();
    this.deps.policies?.begin(this.term.writer);
  }

  private deposed(): void {
    this.term = undefined;
    this.stopWork();
    this.deps.rollouts?.close?.();
  }

  private stopWork(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.timer = undefined;
    this.debounce = undefined;
    this.deps.policies?.end();
    for (const watcher of this.watchers.splice(0)) void watcher.cancel().catch(() => undefined);
  }

  /** One pass at a time: a trigger during a pass runs one more after it. */
  private schedule(): void {
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = (async () => {
      const term = this.term;
      do {
        this.dirty = false;
        if (!term || this.term !== term) break;
        try {
          const outcome = await runPass({ ...this.deps, rollouts: this.deps.rollouts, now: this.now }, term.writer, term.since);
          this.missing = outcome.missing;
          this.lastPass = { at: this.now(), error: null };
          if (!outcome.complete) this.dirty = true;
        } catch (error) {
          this.lastPass = { at: this.now(), error: errorMessage(error) };
          this.deps.logger.warn({ err: errorMessage(error) }, 'coordinator pass failed: the next one tries again');
        }
        this.passes += 1;
      } while (this.dirty && this.term === term);
    })().finally(() => {
      this.running = undefined;
      // a trigger of a new term that came while the old term's pass ran
      if (this.dirty && this.term) this.schedule();
    });
  }
}

/** What any host shows of the coordination in `fleet status`: who coordinates since when, and what is not placed. */
interface CoordinatorStatus {
  coordinator: CoordinatorKey | null;
  missing: PlacementGaps['missing'];
  placedAt: number | null;
}

/** Reads K/coordinator and K/placement (2 s deadline). */
export async function coordinatorStatus(etcd: Etcd3, keys: FleetKeys): Promise<CoordinatorStatus> {
  const [coordinator, placement] = await Promise.all([
    withDeadline(etcd.get(keys.coordinator).exec(), 2000),
    withDeadline(etcd.get(keys.placement).string(), 2000),
  ]);
  const kv = coordinator.kvs[0];
  let gaps: PlacementGaps | undefined;
  try {
    gaps = placement === null ? undefined : (JSON.parse(placement) as PlacementGaps);
  } catch {
    gaps = undefined;
  }
  return { coordinator: kv ? (parseKey(kv) ?? null) : null, missing: gaps?.missing ?? [], placedAt: gaps?.at ?? null };
}
