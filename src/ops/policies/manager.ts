// The policies of the ops API: started all-or-nothing, scheduled, run, recorded, persisted, restored, deleted.
import { errorMessage, WorkerAdminError } from '../../common/errors.js';
import type { ScheduledTask } from '../../common/scheduler.js';
import { fromRecord, packageText, RUNS_KEPT, toRecord, type PolicyRun, type PolicySpec, type PolicyState } from './policy.js';
import type { PolicyManagerDeps } from './ports.js';
import { runPolicy } from './runner.js';

/** A policy's lifecycle here: its instance starting, serving, refused at restore, or being deleted. */
type PolicyPhase = 'STARTING' | 'ACTIVE' | 'FAILED' | 'DELETING';

interface Entry extends PolicyState {
  phase: PolicyPhase;
  task: ScheduledTask | undefined;
  reason: string | undefined;
  /** In state.json: started once (a policy still on its first start is not, so a refused POST leaves nothing). */
  stored: boolean;
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
  runs: Array<{ at: string; status: string; duration_ms: number; error?: string }>;
  reason?: string;
}

/** Owns every policy; one instance per policy, identifier = policy name. */
export class PolicyManager {
  private readonly entries = new Map<string, Entry>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: PolicyManagerDeps) {}

  /** Starts every policy or none: when one fails, the ones already started are stopped and the failure is thrown. */
  async add(specs: PolicySpec[]): Promise<void> {
    for (const spec of specs) {
      if (this.entries.has(spec.name)) throw new WorkerAdminError('POLICY_EXISTS', `policy '${spec.name}' already exists`);
      if (this.deps.instances.isLive(spec.name)) {
        throw new WorkerAdminError('POLICY_INVALID', `policy '${spec.name}': an instance named '${spec.name}' already runs outside the policies; choose another name`);
      }
    }
    const added = specs.map((spec) => this.reserve({ spec, runs: [], fired: false }, false));
    const outcomes = await Promise.allSettled(added.map((entry) => this.deps.instances.start(entry.spec, undefined)));
    const failed = outcomes.findIndex((o) => o.status === 'rejected');
    if (failed !== -1) {
      await Promise.allSettled(added.filter((_, i) => outcomes[i]!.status === 'fulfilled').map((entry) => this.deps.instances.stop(entry.spec.name)));
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
    const entry = this.entries.get(name);
    if (!entry || entry.phase === 'DELETING') throw new WorkerAdminError('POLICY_NOT_FOUND', `policy '${name}' not found`);
    if (entry.phase === 'STARTING') throw new WorkerAdminError('POLICY_INVALID', `policy '${name}' is still starting: delete it once it started`);
    const previous = entry.phase;
    entry.phase = 'DELETING';
    entry.task?.cancel();
    try {
      await this.deps.instances.stop(name);
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
    const { policies, versions } = this.deps.storage.load();
    const restored = policies.flatMap((record) => {
      const state = fromRecord(record);
      if (!state) this.deps.logger.error({ policy: record.name }, 'stored policy is unreadable: dropped');
      return state && !this.entries.has(state.spec.name) ? [this.reserve(state, true)] : [];
    });
    await Promise.all(restored.map(async (entry) => {
      try {
        await this.deps.instances.start(entry.spec, versions.get(entry.spec.name));
        if (entry.phase !== 'STARTING') return;
        entry.phase = 'ACTIVE';
        this.activate(entry);
      } catch (error) {
        entry.phase = 'FAILED';
        entry.reason = errorMessage(error);
        this.deps.logger.error({ policy: entry.spec.name, err: entry.reason }, 'policy instance did not come back');
      }
    }));
    if (policies.length !== restored.length) await this.persist();
  }

  /** Every policy, in name order, as the status shows it. */
  views(): PolicyView[] {
    return [...this.entries.values()].sort((a, b) => a.spec.name.localeCompare(b.spec.name)).map((e) => {
      const next = e.task?.nextRun();
      return {
        name: e.spec.name, package: packageText(e.spec), schedule: e.spec.schedule ?? null, command: e.spec.command,
        dry_run: e.spec.dryRun, state: e.phase, next_run: next === undefined ? null : new Date(next).toISOString(),
        runs: e.runs.map((r) => ({ at: r.at, status: r.status, duration_ms: r.durationMs, ...(r.error ? { error: r.error } : {}) })),
        ...(e.reason ? { reason: e.reason } : {}),
      };
    });
  }

  /** Stops scheduling and waits for runs in flight; instances are left to the admin's own shutdown. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.entries.values()) entry.task?.cancel();
    await Promise.allSettled([...this.running]);
  }

  private reserve(state: PolicyState, stored: boolean): Entry {
    const entry: Entry = { ...state, phase: 'STARTING', task: undefined, reason: undefined, stored };
    this.entries.set(state.spec.name, entry);
    return entry;
  }

  // A scheduled policy gets its task; a one-shot one sends now, once ever (marked before sending: at most once).
  private activate(entry: Entry): void {
    if (this.closed) return;
    if (entry.spec.schedule !== undefined) {
      entry.task = this.deps.scheduler.schedule({ kind: 'cron', expression: entry.spec.schedule }, () => this.track(this.fire(entry)));
    } else if (!entry.fired) {
      entry.fired = true;
      void this.track(this.persist().then(() => this.fire(entry)));
    }
  }

  private async fire(entry: Entry): Promise<void> {
    if (this.closed || entry.phase !== 'ACTIVE') return;
    let run: PolicyRun;
    try {
      ({ run } = await runPolicy(entry.spec, this.deps.runner));
    } catch (error) {
      run = { at: new Date(this.deps.runner.now()).toISOString(), status: 'ERROR', durationMs: 0, error: `dry-run output not written: ${errorMessage(error)}` };
    }
    entry.runs = [...entry.runs, run].slice(-RUNS_KEPT);
    this.deps.onRun?.(entry.spec, run);
    this.deps.logger.info({ policy: entry.spec.name, command: entry.spec.command, status: run.status, durationMs: run.durationMs }, 'policy run');
    if (this.entries.get(entry.spec.name) === entry) await this.persist();
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
