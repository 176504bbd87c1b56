// A host converging its own fleet-managed instances to K/assignments/HOST with the single-host code (docs/fleet.md,
// a host converging): start what is assigned, swap what changed version or config (drain-then-stop), and stop what
// moved elsewhere once its new copy is READY there. One task at a time per identifier.
import { isDeepStrictEqual } from 'node:util';
import type { Etcd3 } from 'etcd3';
import { coalesced } from '../../common/coalesce.js';
import { errorMessage, isWorkerAdminError, replyError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ConfigScalar } from '../../config/types.js';
import type { Instance, InstanceSpec } from '../../admin/instance.js';
import type { InstanceRegistry } from '../../admin/instances.js';
import type { ProductRef } from '../../admin/payloads.js';
import type { IdentifierClaims } from '../claims/identifiers.js';
import { PrefixMirror } from '../engines/prefix-mirror.js';
import type { FleetKeys } from '../keys.js';
import type { Assignment, HostAssignments, HostReport, InstanceReport } from '../placement/types.js';
import { withDeadline, type HostLeases } from '../registry/leases.js';
import { resolveConfig } from './resolve-config.js';

/** What the converger needs of its host's admin. */
interface ConvergeAdmin {
  registry: InstanceRegistry;
  /** The drain-then-stop swap of a rolling update, to another version and/or config. */
  swap(instance: Instance, version: string, config: InstanceSpec['config']): Promise<unknown>;
  /** Per-host settings of a product kept in admin.yaml (runAs). */
  runAsOf(ref: ProductRef): string | undefined;
}

interface ConvergeDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  host: string;
  leases(): HostLeases | undefined;
  admin: ConvergeAdmin;
  claims: IdentifierClaims;
  /** A product with a desired state (its instances here are the fleet's, even those a previous run started). */
  managed(ref: ProductRef): boolean;
  /** A host whose record is live now. */
  isLive(host: string): boolean;
  env: NodeJS.ProcessEnv;
  /** How long a moved instance's new copy may take to be READY elsewhere before this host stops its own anyway. */
  handOffMs: number;
  logger: Logger;
  now?: () => number;
}

/** The last failure to start or swap an identifier to one version and config. */
interface Failure {
  version: string;
  config: Record<string, ConfigScalar>;
  error: string;
  /** CONFIG_INVALID here: this host refuses the instance until its assignment changes. */
  refused: boolean;
  at: number;
}

const RETRY_AFTER_MS = 5_000;
const REPORT_EVERY_MS = 500;

export class Converger {
  private readonly assignments: PrefixMirror;
  private readonly reports: PrefixMirror;
  private assigned = new Map<string, Assignment>();
  /** Identifiers this host started for the fleet. */
  private readonly owned = new Set<string>();
  private readonly tasks = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, Failure>();
  /** Identifier → the version a swap in flight moves it to. */
  private readonly swapping = new Map<string, string>();
  /** The mod revision of this host's assignments the last pass acted on (reported: a rollout trusts no older report). */
  private seen: string | null = null;
  /** Back from a loss: what is no longer assigned here is withheld from dispatch and stopped at once. */
  private returning = false;
  private passing = false;
  private passAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private lastReport = '';
  /**
   * Writes this host's report, one write at a time: etcd applies two puts in flight in either order, so an earlier
   * state (a swap still in flight) could land after a later one (the swap done) and stay, the later text being
   * "already written". A report asked for during a write is written after it, with the state of then.
   */
  private readonly report = coalesced(() => this.writeReport(), () => this.closed);
  private reportedOn = '';
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly deps: ConvergeDeps) {
    this.now = deps.now ?? Date.now;
    const kick = (): void => this.kick();
    this.assignments = new PrefixMirror(deps.etcd, deps.keys.assignmentsPrefix, kick, deps.logger);
    this.reports = new PrefixMirror(deps.etcd, deps.keys.reportsPrefix, kick, deps.logger);
    // an identifier moved here from a live host is still claimed by it until it drains its copy; a lost holder's claim
    // is never taken over (it lapses with its claims lease)
    deps.claims.movedHere = (identifier, holder) => this.assigned.has(identifier) && deps.isLive(holder) && !this.assignedTo(holder, identifier);
  }

  /** Reads the assignments and reports, then converges and reports every 500 ms and on every change. */
  async start(): Promise<void> {
    await this.reports.start();
    await this.assignments.start();
    this.timer = setInterval(() => {
      this.kick();
      void this.report();
    }, REPORT_EVERY_MS);
    this.timer.unref();
  }

  /** True for a local instance the router must not dispatch to: back from a loss, and no longer assigned here. */
  withheld(identifier: string): boolean {
    return this.returning && !this.assigned.has(identifier) && this.isManagedHere(identifier);
  }

  /** Identifiers of the fleet-managed instances running here. */
  managedHere(): Instance[] {
    return this.deps.admin.registry.all().filter((i) => i.live && this.isManagedHere(i.identifier));
  }

  /**
   * Back from a loss (a new incarnation): reads the assignments again and stops every fleet-managed instance no longer
   * assigned here, before this host serves them again (they are withheld from dispatch meanwhile).
   */
  async resync(): Promise<void> {
    this.returning = true;
    try {
      await this.assignments.relist();
      await this.reports.relist();
      this.kick();
      await this.settled((i) => !this.assigned.has(i.identifier));
    } finally {
      this.returning = false;
    }
    this.kick();
  }

  /**
   * Leaving (SIGTERM): once the coordinator has placed this host's instances elsewhere and their new copies are READY,
   * they are stopped here; resolves when none is left, or after `handOffMs` (the caller then drains what remains).
   */
  async handOff(): Promise<void> {
    const until = this.now() + this.deps.handOffMs;
    while (!this.closed && this.managedHere().length > 0 && this.now() < until) {
      this.kick();
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([this.assignments.close(), this.reports.close()]);
  }

  /** An instance of this host that belongs to the fleet (started for it, or of a fleet-managed product). */
  isManagedHere(identifier: string): boolean {
    const instance = this.deps.admin.registry.get(identifier);
    return this.owned.has(identifier) || (instance !== undefined && this.deps.managed(instance.spec));
  }

  /** Resolves once no task runs for the instances matching `which` and none of them is live. */
  private async settled(which: (i: Instance) => boolean): Promise<void> {
    for (;;) {
      const pending = this.managedHere().filter(which);
      if (pending.length === 0 || this.closed) return;
      await Promise.all(pending.map((i) => this.tasks.get(i.identifier) ?? sleep(50)));
    }
  }

  private readAssignments(): Map<string, Assignment> {
    const text = this.assignments.values.get(this.deps.keys.assignments(this.deps.host));
    const parsed = text === undefined ? undefined : parseJson<HostAssignments>(text);
    return new Map((parsed?.instances ?? []).map((a) => [a.identifier, a]));
  }

  /** One decision pass: never two at once, and one more when something changed meanwhile. */
  private kick(): void {
    if (this.closed) return;
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    this.passing = true;
    try {
      do {
        this.passAgain = false;
        this.pass();
      } while (this.passAgain);
    } finally {
      this.passing = false;
    }
  }

  private pass(): void {
    if (!this.assignments.ready) return;
    this.assigned = this.readAssignments();
    this.seen = this.assignments.revisions.get(this.deps.keys.assignments(this.deps.host)) ?? null;
    const ids = new Set([...this.assigned.keys(), ...this.managedHere().map((i) => i.identifier)]);
    for (const identifier of ids) {
      if (this.tasks.has(identifier)) continue;
      const assignment = this.assigned.get(identifier);
      const instance = this.deps.admin.registry.get(identifier);
      const live = instance?.live ? instance : undefined;
      if (assignment) {
        this.forgetStaleFailure(assignment);
        if (!live) {
          if (this.mayTry(assignment)) this.run(identifier, () => this.startInstance(assignment));
        } else if (live.state === 'READY' && this.differs(live, assignment) && this.mayTry(assignment)) {
          this.run(identifier, () => this.swap(live, assignment));
        }
      } else if (live) {
        this.run(identifier, () => this.retire(live));
      }
    }
  }

  private run(identifier: string, task: () => Promise<void>): void {
    const running = task()
      .catch((error: unknown) => this.deps.logger.error({ identifier, err: errorMessage(error) }, 'fleet convergence step failed'))
      .finally(() => {
        this.tasks.delete(identifier);
        void this.report();
        this.kick();
      });
    this.tasks.set(identifier, running);
  }

  /**
   * A failure to reach another assignment than the current one is over (a rollout put the instance back): its error and
   * failedVersion leave the report, and the new assignment is tried at once.
   */
  private forgetStaleFailure(a: Assignment): void {
    const failure = this.failures.get(a.identifier);
    if (failure && (failure.version !== a.version || !isDeepStrictEqual(failure.config, a.config))) this.failures.delete(a.identifier);
  }

  /** A failed start or swap is tried again after 5 s, a refused one (CONFIG_INVALID) only once the assignment changes. */
  private mayTry(a: Assignment): boolean {
    const failure = this.failures.get(a.identifier);
    return !failure || (!failure.refused && this.now() - failure.at >= RETRY_AFTER_MS);
  }

  private differs(instance: Instance, a: Assignment): boolean {
    if (instance.spec.version !== a.version) return true;
    try {
      return !isDeepStrictEqual(instance.spec.config, resolveConfig(a.identifier, a.config, this.deps.env));
    } catch {
      return false; // the new config cannot run here: keep the running one (the start path reports the refusal)
    }
  }

  private fail(a: Assignment, error: unknown): void {
    const refused = isWorkerAdminError(error, 'CONFIG_INVALID');
    this.failures.set(a.identifier, { version: a.version, config: a.config, error: replyError(error), refused, at: this.now() });
    this.deps.logger.warn({ identifier: a.identifier, version: a.version, err: replyError(error) }, refused ? 'fleet instance refused on this host' : 'fleet instance did not start or swap');
  }

  private async startInstance(a: Assignment): Promise<void> {
    const ref = { type: a.type, product: a.product };
    try {
      const config = resolveConfig(a.identifier, a.config, this.deps.env);
      this.owned.add(a.identifier);
      await this.deps.admin.registry.start({
        identifier: a.identifier, type: a.type, product: a.product, version: a.version, params: {}, config,
        runAs: this.deps.admin.runAsOf(ref), restart: a.restart,
      });
      this.failures.delete(a.identifier);
      this.deps.logger.info({ identifier: a.identifier, version: a.version }, 'fleet instance started');
    } catch (error) {
      if (!this.deps.admin.registry.get(a.identifier)?.live) this.owned.delete(a.identifier);
      this.fail(a, error);
    }
  }

  private async swap(instance: Instance, a: Assignment): Promise<void> {
    try {
      const config = resolveConfig(a.identifier, a.config, this.deps.env);
      // a rollout aborted meanwhile changed the assignment again: swap to what it says now, or not at all
      const now = this.readAssignments().get(a.identifier);
      if (!now || now.version !== a.version) return;
      this.swapping.set(a.identifier, a.version);
      await this.deps.admin.swap(instance, a.version, config);
      this.failures.delete(a.identifier);
      this.deps.logger.info({ identifier: a.identifier, version: a.version }, 'fleet instance swapped');
    } catch (error) {
      this.fail(a, error);
    } finally {
      this.swapping.delete(a.identifier);
    }
  }

  /** Stops an instance no longer assigned here: at once when assigned nowhere, else once its new copy is READY. */
  private async retire(instance: Instance): Promise<void> {
    const { identifier } = instance;
    const until = this.now() + this.deps.handOffMs;
    for (;;) {
      if (this.closed) return;
      if (this.readAssignments().has(identifier)) return; // assigned back here
      const elsewhere = this.assignedElsewhere(identifier);
      if (this.returning || elsewhere === undefined || this.readyOn(elsewhere, identifier) || this.now() >= until) break;
      await sleep(100);
    }
    this.deps.logger.info({ identifier, version: instance.spec.version }, 'fleet instance no longer assigned here: draining it');
    await this.deps.admin.registry.stop({ identifier });
    this.owned.delete(identifier);
    this.failures.delete(identifier);
  }

  private assignedTo(host: string, identifier: string): boolean {
    const text = this.assignments.values.get(this.deps.keys.assignments(host));
    return text !== undefined && (parseJson<HostAssignments>(text)?.instances.some((a) => a.identifier === identifier) ?? false);
  }

  private assignedElsewhere(identifier: string): string | undefined {
    for (const [key, text] of this.assignments.values) {
      const host = key.slice(this.deps.keys.assignmentsPrefix.length);
      if (host === this.deps.host) continue;
      if (parseJson<HostAssignments>(text)?.instances.some((a) => a.identifier === identifier)) return host;
    }
    return undefined;
  }

  private readyOn(host: string, identifier: string): boolean {
    const text = this.reports.values.get(this.deps.keys.reports(host));
    return parseJson<HostReport>(text ?? '')?.instances.some((r) => r.identifier === identifier && r.state === 'READY') ?? false;
  }

  /** This host's report: written under its host lease when it changed (or the lease did). */
  private async writeReport(): Promise<void> {
    const leases = this.deps.leases();
    if (this.closed || !leases) return;
    const instances = this.reportRows();
    const assignments = this.seen;
    const text = JSON.stringify({ assignments, instances });
    if (text === this.lastReport && this.reportedOn === leases.hostId) return;
    const report: HostReport = { incarnation: leases.incarnation, at: this.now(), assignments, instances };
    this.lastReport = text;
    this.reportedOn = leases.hostId;
    try {
      await withDeadline(this.deps.etcd.put(this.deps.keys.reports(this.deps.host)).value(JSON.stringify(report)).lease(leases.hostId).exec(), 2000);
    } catch (error) {
      this.lastReport = ''; // written again on the next tick
      this.deps.logger.warn({ err: errorMessage(error) }, 'fleet report not written (etcd unreachable): trying again');
    }
  }

  private reportRows(): InstanceReport[] {
    const rows = new Map<string, InstanceReport>();
    const now = this.now();
    for (const instance of this.managedHere()) {
      const failure = this.failures.get(instance.identifier);
      const readyFor = instance.readyForMs();
      rows.set(instance.identifier, {
        identifier: instance.identifier, version: instance.spec.version, state: instance.state,
        // whole seconds: a report changes when the state does, not at every tick
        readySince: readyFor === undefined ? null : Math.floor((now - readyFor) / 1000) * 1000,
        restarts: instance.restarts, error: failure?.error ?? null,
        failedVersion: failure && failure.version !== instance.spec.version ? failure.version : null,
        swapTo: this.swapping.get(instance.identifier) ?? null,
      });
    }
    for (const [identifier, a] of this.assigned) {
      if (rows.has(identifier)) continue;
      const failure = this.failures.get(identifier);
      const state = this.tasks.has(identifier) ? 'STARTING' : failure?.refused ? 'REFUSED' : failure ? 'FAILED' : 'PENDING';
      rows.set(identifier, { identifier, version: a.version, state, readySince: null, restarts: 0, error: failure?.error ?? null, failedVersion: null, swapTo: null });
    }
    return [...rows.values()].sort((a, b) => a.identifier.localeCompare(b.identifier));
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
