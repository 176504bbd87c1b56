// The policies of the ops API: started all-or-nothing, scheduled, run, recorded, persisted, restored, deleted.
import { compileCron, nextCronTime } from '../../common/cron.js';
import { errorMessage, WorkerAdminError } from '../../common/errors.js';
import type { ScheduledTask } from '../../common/scheduler.js';
import { fromRecord, packageText, RUNS_KEPT, toRecord, type PolicyRun, type PolicySpec, type PolicyState } from './policy.js';
import type { PolicyFleet, PolicyManagerDeps, PolicyTick } from './ports.js';
import { runPolicy } from './runner.js';

/** A policy's lifecycle here: its instance starting, serving, refused at restore, or being deleted. */
type PolicyPhase = 'STARTING' | 'ACTIVE' | 'FAILED' | 'DELETING';

interface Entry extends PolicyState {
  phase: PolicyPhase;
  task: ScheduledTask | undefined;
  reason: string | undefined;
  /** In state.json: started once (a policy still on its first start is not, so a refused POST leaves nothing). */
  stored: boolean;
  /** A run is in flight: a fleet tick that comes meanwhile is skipped (as the scheduler skips the times a run covers). */
  busy: boolean;
}

/** A policy as /api/v1/status shows it (config values stay hidden: they may be secrets). */
export interface PolicyView {
  name: string;
  package: string;
  schedule: string | null;
  command: string;
  dry_run: boolean;
  state: PolicyPhase;
  next_run: string | null;
  runs: Array<{ at: string; status: string; duration_ms: number; error?: string; uuid?: string }>;
  reason?: string;
}

/** Owns every policy; one instance per policy, identifier = policy name. */
export class PolicyManager {
  private readonly entries = new Map<string, Entry>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  /** The fleet once joined (undefined: one host); closing stops waiting for it. */
  private readonly fleet: Promise<PolicyFleet | undefined>;
  private joined: PolicyFleet | undefined;
  private stopWaiting: () => void = () => undefined;

  constructor(private readonly deps: PolicyManagerDeps) {
    const closing = new Promise<undefined>((resolve) => {
      this.stopWaiting = () => resolve(undefined);
    });
    this.fleet = deps.fleet ? Promise.race([deps.fleet, closing]).then((fleet) => (this.joined = fleet)) : Promise.resolve(undefined);
  }

  /** Starts every policy or none: when one fails, the ones already started are stopped and the failure is thrown. */
  async add(specs: PolicySpec[]): Promise<void> {
    const fleet = await this.fleet;
    for (const spec of specs) {
      if (this.entries.has(spec.name)) throw new WorkerAdminError('POLICY_EXISTS', `policy '${spec.name}' already exists`);
      if (this.deps.instances.isLive(spec.name)) {
        throw new WorkerAdminError('POLICY_INVALID', `policy '${spec.name}': an instance named '${spec.name}' already runs outside the policies; choose another name`);
      }
    }
    const added = specs.map((spec) => this.reserve({ spec, runs: [], fired: false }, false));
    try {
      await fleet?.register(specs); // a name another host of the fleet holds: refused before anything starts
    } catch (error) {
      for (const entry of added) this.entries.delete(entry.spec.name);
      throw error;
    }
    const outcomes = await Promise.allSettled(added.map((entry) => this.deps.instances.start(entry.spec, undefined)));
    const failed = outcomes.findIndex((o) => o.status === 'rejected');
    if (failed !== -1) {
      await Promise.allSettled(added.filter((_, i) => outcomes[i]!.status === 'fulfilled').map((entry) => this.deps.instances.stop(entry.spec.name)));
      await Promise.allSettled(specs.map((spec) => this.unregister(fleet, spec.name)));
      for (const entry of added) this.entries.delete(entry.spec.name);
      const reason = errorMessage((outcomes[failed] as PromiseRejectedResult).reason);
      const rolledBack = added.length > 1 ? ` (none of the ${added.length} policies was started)` : '';
      throw new WorkerAdminError('POLICY_INVALID', `policy '${added[failed]!.spec.name}' was not started: ${reason}${rolledBack}`);
    }
    for (const entry of added) Object.assign(entry, { phase: 'ACTIVE', stored: true });
    await this.persist();
    for (const entry of added) this.activate(entry);
  }

  /** Drains and stops the policy's instance, then forgets it; POLICY_NOT_FOUND when there is none. */
  async remove(name: string): Promise<void> {
    const fleet = await this.fleet;
    const entry = this.entries.get(name);
    if (!entry || entry.phase === 'DELETING') throw new WorkerAdminError('POLICY_NOT_FOUND', `policy '${name}' not found`);
    if (entry.phase === 'STARTING') throw new WorkerAdminError('POLICY_INVALID', `policy '${name}' is still starting: delete it once it started`);
    const previous = entry.phase;
    entry.phase = 'DELETING';
    entry.task?.cancel();
    try {
      // the name first, so no tick comes for a policy going away; etcd unreachable: nothing is deleted
      await fleet?.unregister(name);
      try {
        await this.deps.instances.stop(name);
      } catch (error) {
        await fleet?.register([entry.spec]).catch((e: unknown) => this.deps.logger.error({ policy: name, err: errorMessage(e) }, 'policy not registered again in the fleet'));
        throw error;
      }
    } catch (error) {
      entry.phase = previous;
      if (previous === 'ACTIVE') this.activate(entry);
      throw error;
    }
    this.entries.delete(name);
    await this.persist();
  }

  /** Brings back the policies of the previous run (their instances at the versions they ran); resolves once each started or failed. */
  async restore(): Promise<void> {
    const fleet = await this.fleet;
    if (this.closed) return;
    const { policies, versions } = this.deps.storage.load();
    const restored = policies.flatMap((record) => {
      const state = fromRecord(record);
      if (!state) this.deps.logger.error({ policy: record.name }, 'stored policy is unreadable: dropped');
      return state && !this.entries.has(state.spec.name) ? [this.reserve(state, true)] : [];
    });
    await Promise.all(restored.map(async (entry) => {
      try {
        await fleet?.register([entry.spec]);
        await this.deps.instances.start(entry.spec, versions.get(entry.spec.name));
        if (entry.phase !== 'STARTING') return;
        entry.phase = 'ACTIVE';
        this.activate(entry);
      } catch (error) {
        entry.phase = 'FAILED';
        entry.reason = errorMessage(error);
        this.deps.logger.error({ policy: entry.spec.name, err: entry.reason }, 'policy did not come back (its name in the fleet, or its instance)');
      }
    }));
    if (policies.length !== restored.length) await this.persist();
    if (!this.closed) fleet?.follow((name, tick, listed) => this.tick(name, tick, listed));
  }

  /**
   * A fleet tick of policy `name` (docs/fleet.md, policies): its command is sent with the tick's uuid, unless that
   * tick is already in its runs, a run is in flight, or — found by a list rather than as it was written — it is older
   * than the command timeout.
   */
  private tick(name: string, tick: PolicyTick, listed: boolean): void {
    const entry = this.entries.get(name);
    if (this.closed || !entry || entry.phase !== 'ACTIVE' || entry.spec.schedule === undefined) return;
    if (entry.runs.some((run) => run.uuid === tick.uuid)) return;
    const log = { policy: name, tick: new Date(tick.tick).toISOString(), uuid: tick.uuid };
    const age = this.deps.runner.now() - tick.at;
    if (listed && age > this.deps.runner.commandTimeoutMs) {
      this.deps.logger.info({ ...log, ageMs: age }, 'policy tick found at start is older than the command timeout: not run (a clock off by that much also does this)');
      return;
    }
    if (entry.busy) {
      this.deps.logger.warn(log, 'policy tick skipped: the previous run is still in flight');
      return;
    }
    void this.track(this.fire(entry, tick.uuid));
  }

  /** Every policy, in name order, as the status shows it. */
  views(): PolicyView[] {
    return [...this.entries.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name)).map((e) => {
      const next = e.task?.nextRun() ?? this.fleetNextRun(e);
      return {
        name: e.spec.name, package: packageText(e.spec), schedule: e.spec.schedule ?? null, command: e.spec.command,
        dry_run: e.spec.dryRun, state: e.phase, next_run: next === undefined ? null : new Date(next).toISOString(),
        runs: e.runs.map((r) => ({ at: r.at, status: r.status, duration_ms: r.durationMs, ...(r.error ? { error: r.error } : {}), ...(r.uuid ? { uuid: r.uuid } : {}) })),
        ...(e.reason ? { reason: e.reason } : {}),
      };
    });
  }

  /** Stops scheduling and waits for runs in flight; instances are left to the admin's own shutdown. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWaiting();
    for (const entry of this.entries.values()) entry.task?.cancel();
    await Promise.allSettled([...this.running]);
  }

  private reserve(state: PolicyState, stored: boolean): Entry {
    const entry: Entry = { ...state, phase: 'STARTING', task: undefined, reason: undefined, stored, busy: false };
    this.entries.set(state.spec.name, entry);
    return entry;
  }

  // A scheduled policy gets its task (in a fleet its ticks come from the coordinator); a one-shot one sends now, once
  // ever (marked before sending: at most once).
  private activate(entry: Entry): void {
    if (this.closed) return;
    if (entry.spec.schedule !== undefined) {
      if (this.joined) return;
      entry.task = this.deps.scheduler.schedule({ kind: 'cron', expression: entry.spec.schedule }, () => this.track(this.fire(entry)));
    } else if (!entry.fired) {
      entry.fired = true;
      void this.track(this.persist().then(() => this.fire(entry)));
    }
  }

  private async fire(entry: Entry, uuid?: string): Promise<void> {
    if (this.closed || entry.phase !== 'ACTIVE') return;
    let run: PolicyRun;
    entry.busy = true;
    try {
      ({ run } = await runPolicy(entry.spec, this.deps.runner, uuid));
    } catch (error) {
      run = { at: new Date(this.deps.runner.now()).toISOString(), status: 'ERROR', durationMs: 0, error: `dry-run output not written: ${errorMessage(error)}`, ...(uuid ? { uuid } : {}) };
    } finally {
      entry.busy = false;
    }
    entry.runs = [...entry.runs, run].slice(-RUNS_KEPT);
    this.deps.onRun?.(entry.spec, run);
    this.deps.logger.info({ policy: entry.spec.name, command: entry.spec.command, status: run.status, durationMs: run.durationMs }, 'policy run');
    if (this.entries.get(entry.spec.name) === entry) await this.persist();
  }

  /** In a fleet, the next schedule time on this host's clock (the coordinator's decides). */
  private fleetNextRun(entry: Entry): number | undefined {
    if (!this.joined || entry.spec.schedule === undefined || entry.phase !== 'ACTIVE') return undefined;
    return nextCronTime(compileCron(entry.spec.schedule), this.deps.runner.now());
  }

  /** Gives a name up in the fleet; a failure is logged (the key lapses with the host's lease at worst). */
  private async unregister(fleet: PolicyFleet | undefined, name: string): Promise<void> {
    await fleet?.unregister(name).catch((error: unknown) => this.deps.logger.error({ policy: name, err: errorMessage(error) }, 'policy not unregistered from the fleet'));
  }

  private track(task: Promise<void>): Promise<void> {
    const tracked = task.catch((error: unknown) => this.deps.logger.error({ err: errorMessage(error) }, 'policy run failed'));
    this.running.add(tracked);
    void tracked.finally(() => this.running.delete(tracked));
    return tracked;
  }

  private persist(): Promise<void> {
    const records = [...this.entries.values()].filter((e) => e.stored).map(toRecord);
    return this.deps.storage.save(records);
  }
}
