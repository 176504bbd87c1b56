// Rolling update of one product (docs/architecture.md): serialized per product, every instance replaced in turn, and on a
// failure the failed version stopped, instances already moved in this run put back, and the version remembered.
import { WorkerAdminError, errorMessage, isWorkerAdminError, replyError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { VersionEntry } from '../../repository/versions.js';
import type { Instance } from '../instance.js';
import type { InstanceRegistry } from '../instances.js';
import type { AdminPersistence } from '../persistence.js';
import type { ProductRef } from '../payloads.js';
import { KeyedLock } from './lock.js';
import { moveOntoNewBytes, type RepublishedVersion, type RepublishResult } from './republish.js';
import { replaceInstance, type Replaced, type RollingDeps } from './rolling.js';
import { chooseTarget, highestVersion, olderThan } from './target.js';
import { productKey } from '../../common/names.js';

/** What started an update: its events and its reply say so. */
type UpdateTrigger = 'command' | 'auto' | 'planned' | 'rollback';

/** The reply of ADMIN_UPDATE and ADMIN_ROLLBACK. */
export interface UpdateResult {
  from: string;
  to: string;
  instances: string[];
}

interface UpdaterDeps extends Omit<RollingDeps, 'closing'> {
  registry: InstanceRegistry;
  listVersions(ref: ProductRef): Promise<VersionEntry[]>;
  publish(event: string, payload: Record<string, unknown>): void;
  persistence: Pick<AdminPersistence, 'snapshot' | 'update'>;
  logger: Logger;
  /** The range updates stay in (run-time mode, else the connector's config); undefined: the running major. */
  rangeOf(ref: ProductRef): string | undefined;
  /** Milliseconds since the epoch (a re-publish is stamped with it). */
  now(): number;
}

type UpdaterState = 'RUNNING' | 'CLOSING';

/** Runs rolling updates; one per product at a time. */
export class Updater {
  private readonly lock = new KeyedLock();
  /** By `type/product`: versions that failed to become READY, skipped by auto and planned updates. */
  private readonly failed = new Map<string, Set<string>>();
  private state: UpdaterState = 'RUNNING';

  constructor(private readonly deps: UpdaterDeps) {}

  /** Updates every READY instance of `ref` to `version` (or the newest in range); waits for an update of the same product. */
  update(ref: ProductRef, request: { version?: string | undefined; trigger: UpdateTrigger }): Promise<UpdateResult> {
    return this.lock.run(productKey(ref), () => this.run(ref, request));
  }

  /** Rolling update back to the version before the last update (state.json `previousVersions`). */
  rollback(ref: ProductRef): Promise<UpdateResult> {
    return this.lock.run(productKey(ref), async () => {
      const previous = this.deps.persistence.snapshot().previousVersions[productKey(ref)];
      if (previous === undefined) throw new WorkerAdminError('NOT_FOUND', `${productKey(ref)}: no previous version to roll back to (no update of it was recorded)`);
      return this.run(ref, { version: previous, trigger: 'rollback' });
    });
  }

  /** A version re-published in place (`up`, development mode): its READY instances move onto the new bytes in turn. */
  republished(v: RepublishedVersion): Promise<RepublishResult> {
    return this.lock.run(productKey(v), () => {
      if (this.state !== 'RUNNING') return Promise.resolve({ moved: [], failed: [] });
      const now = (): string => new Date(this.deps.now()).toISOString();
      return moveOntoNewBytes(this.deps.registry.ofProduct(v.type, v.product), v, { ...this.rolling(), logger: this.deps.logger, now });
    });
  }

  /** An automatic check (auto or planned mode): skipped while an update of the product runs; errors are logged. */
  async check(ref: ProductRef, trigger: 'auto' | 'planned'): Promise<void> {
    const product = productKey(ref);
    if (this.state !== 'RUNNING' || this.lock.busy(product)) return;
    if (readyInstances(this.deps.registry, ref).length === 0) return;
    try {
      await this.update(ref, { trigger });
    } catch (error) {
      // Repository unreachable, or the new version failed (already published): the running version keeps running.
      this.deps.logger.warn({ product, trigger, err: errorMessage(error) }, 'update check did not update: retried at the next check');
    }
  }

  /** The versions automatic updates skip for a product. */
  failedVersions(ref: ProductRef): string[] {
    return [...(this.failed.get(productKey(ref)) ?? [])];
  }

  /** Takes no new update; resolves once the running and queued ones have settled. */
  async close(): Promise<void> {
    this.state = 'CLOSING';
    await this.lock.idle();
  }

  private async run(ref: ProductRef, request: { version?: string | undefined; trigger: UpdateTrigger }): Promise<UpdateResult> {
    const product = productKey(ref);
    if (this.state !== 'RUNNING') throw new WorkerAdminError('UPDATE_FAILED', `${product}: not updated, the admin is shutting down`);
    const ready = readyInstances(this.deps.registry, ref);
    const from = highestVersion(ready.map((i) => i.spec.version));
    if (from === undefined) throw new WorkerAdminError('NOT_FOUND', `${product}: no READY instance to update (start one with ADMIN_START_WORKER)`);
    const automatic = request.trigger === 'auto' || request.trigger === 'planned';
    const target = chooseTarget({
      product, versions: await this.deps.listVersions(ref), from, version: request.version,
      range: this.deps.rangeOf(ref), ...(automatic ? { skip: this.failed.get(product) ?? new Set() } : {}),
    });
    const to = target.kind === 'update' ? target.to : from;
    const moving = ready.filter((i) => i.spec.version !== to && (request.version !== undefined || olderThan(i.spec.version, to)));
    // Every UPDATE_* payload: `version` is the update's target (= `to`), `from` what ran before (docs/architecture.md).
    const base = { product, trigger: request.trigger };
    // An explicit version moves every instance not on it, even when the highest one already is.
    if ((target.kind === 'none' && request.version === undefined) || moving.length === 0) {
      const reason = target.kind === 'none' ? target.reason : `every READY instance of ${product} already runs ${to}`;
      if (request.trigger !== 'auto') this.deps.publish('UPDATE_SKIPPED', { ...base, version: from, from, to: from, reason });
      return { from, to: from, instances: [] };
    }
    if (request.version === undefined) this.deps.publish('UPDATE_AVAILABLE', { ...base, version: to, from, to });
    const done: Replaced[] = [];
    for (const instance of moving) {
      const was = instance.spec.version;
      this.deps.publish('UPDATE_STARTED', { ...base, identifier: instance.identifier, version: to, from: was, to });
      try {
        done.push(await replaceInstance(instance, to, this.rolling()));
      } catch (error) {
        const reason = replyError(error);
        this.deps.publish('UPDATE_FAILED', { ...base, identifier: instance.identifier, version: to, from: was, to, reason, rolledBack: true });
        await this.putBack(done, reason, base);
        this.remember(product, to);
        // The reply carries the failure's own code (COMMANDS_MISSING, START_TIMEOUT…), not a generic one.
        const [code, why] = isWorkerAdminError(error) ? [error.code, error.message] : ['UPDATE_FAILED' as const, errorMessage(error)];
        throw new WorkerAdminError(code, `${why} (update of ${product} ${was} → ${to} on ${instance.identifier} rolled back: ${was} keeps serving)`, { cause: error });
      }
      this.deps.publish('UPDATE_SUCCEEDED', { ...base, identifier: instance.identifier, version: to, from: was, to });
    }
    if (from !== to) await this.deps.persistence.update((s) => { s.previousVersions[product] = from; });
    this.deps.logger.info({ product, from, to, instances: done.map((d) => d.identifier), trigger: request.trigger }, 'rolling update done');
    return { from, to, instances: done.map((d) => d.identifier) };
  }

  // Instances this run already moved go back to their version, so one product never ends half updated.
  private async putBack(done: Replaced[], reason: string, base: Record<string, unknown>): Promise<void> {
    for (const moved of done) {
      const instance = this.deps.registry.get(moved.identifier);
      const payload = { ...base, identifier: moved.identifier, version: moved.to, from: moved.from, to: moved.to };
      try {
        if (!instance || instance.state !== 'READY') throw new Error(`instance is ${instance?.state ?? 'gone'}`);
        await replaceInstance(instance, moved.from, this.rolling());
        this.deps.publish('UPDATE_FAILED', { ...payload, reason: `rolled back with the product: ${reason}`, rolledBack: true });
      } catch (error) {
        this.deps.logger.error({ identifier: moved.identifier, err: errorMessage(error) }, 'could not put an updated instance back');
        this.deps.publish('UPDATE_FAILED', { ...payload, reason: `${reason}; putting it back failed: ${errorMessage(error)}`, rolledBack: false });
      }
    }
  }

  private remember(product: string, version: string): void {
    const set = this.failed.get(product) ?? new Set<string>();
    set.add(version);
    this.failed.set(product, set);
  }

  private rolling(): RollingDeps {
    const { launch, drainAndStop, publish, warmUp } = this.deps;
    return { launch, drainAndStop, closing: () => this.state !== 'RUNNING', publish, ...(warmUp ? { warmUp } : {}) };
  }
}


// Only READY instances are moved: one STARTING or RESTARTING has no settled worker to swap out.
function readyInstances(registry: InstanceRegistry, ref: ProductRef): Instance[] {
  return registry.ofProduct(ref.type, ref.product).filter((i) => i.state === 'READY');
}
