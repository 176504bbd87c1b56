// The registry of instances by identifier: start with dedupe, stop by filter, list, and the desired set to persist.
import { isDeepStrictEqual } from 'node:util';
import { WorkerAdminError } from '../common/errors.js';
import { Instance, type InstanceDeps, type InstanceSpec, type WorkerStatus } from './instance.js';

import type { DesiredInstance } from '../process/state-schema.js';

interface StartOutcome { instance: Instance; alreadyRunning: boolean }

/** Identifiers claimed fleet-wide before an instance starts (docs/fleet.md); IDENTIFIER_CONFLICT when held elsewhere. */
interface IdentifierClaimer {
  claim(identifier: string): Promise<void>;
  release(identifier: string): Promise<void>;
}

/** Instances by identifier; one live instance per identifier. */
export class InstanceRegistry {
  private readonly byId = new Map<string, Instance>();
  /** A note about an instance's version from the repository (yanked, removed), shown as `notice` in its status. */
  noticeOf: ((spec: InstanceSpec) => string | undefined) | undefined;
  private claims: IdentifierClaimer | undefined;

  constructor(private readonly deps: InstanceDeps, private readonly maxInstances: number) {}

  /** In a fleet: every new identifier is claimed fleet-wide first, and given up when its instance is stopped. */
  useClaims(claims: IdentifierClaimer): void {
    this.claims = claims;
  }

  /** Starts `spec` unless the same identifier is already live (same spec: alreadyRunning; else IDENTIFIER_CONFLICT). */
  async start(spec: InstanceSpec): Promise<StartOutcome> {
    const existing = this.byId.get(spec.identifier);
    if (existing?.live) {
      const same = existing.spec.type === spec.type && existing.spec.product === spec.product
        && existing.spec.version === spec.version && isDeepStrictEqual(existing.spec.params, spec.params);
      if (same) return { instance: existing, alreadyRunning: true };
      throw new WorkerAdminError('IDENTIFIER_CONFLICT', `${spec.identifier} already runs ${existing.productRef}@${existing.spec.version}${isDeepStrictEqual(existing.spec.params, spec.params) ? '' : ' with other params'}; use ADMIN_UPDATE to change its version`);
    }
    const live = [...this.byId.values()].filter((i) => i.live).length;
    if (live >= this.maxInstances) {
      throw new WorkerAdminError('LIMIT_EXCEEDED', `${live} instances are running, the instances limit is ${this.maxInstances}`);
    }
    await this.claims?.claim(spec.identifier);
    const instance = new Instance(spec, this.deps);
    this.byId.set(spec.identifier, instance);
    try {
      await instance.start();
    } catch (error) {
      if (this.byId.get(spec.identifier) === instance) this.byId.delete(spec.identifier);
      this.deps.changed();
      await this.claims?.release(spec.identifier).catch(() => undefined);
      throw error;
    }
    return { instance, alreadyRunning: false };
  }

  /** Drains and stops the live instances matching the filter; returns their identifiers. */
  async stop(filter: { type?: string; product?: string; version?: string; identifier?: string }): Promise<string[]> {
    const matching = this.all().filter((i) => i.live
      && (filter.identifier === undefined || i.identifier === filter.identifier)
      && (filter.type === undefined || (i.spec.type === filter.type && i.spec.product === filter.product))
      && (filter.version === undefined || i.spec.version === filter.version));
    await Promise.all(matching.map(async (i) => {
      await i.stop();
      await this.claims?.release(i.identifier).catch(() => undefined);
    }));
    return matching.map((i) => i.identifier);
  }

  /** Every instance known (live or ended), in identifier order. */
  all(): Instance[] {
    return [...this.byId.values()].sort((a, b) => a.identifier.localeCompare(b.identifier));
  }

  /** The live instances of one product. */
  ofProduct(type: string, product: string): Instance[] {
    return this.all().filter((i) => i.live && i.spec.type === type && i.spec.product === product);
  }

  get(identifier: string): Instance | undefined {
    return this.byId.get(identifier);
  }

  /** Status rows for ADMIN_LIST_WORKERS and the ops API. */
  statuses(): WorkerStatus[] {
    return this.all().map((i) => {
      const notice = i.live ? this.noticeOf?.(i.spec) : undefined;
      return notice === undefined ? i.status() : { ...i.status(), notice };
    });
  }

  /** What should be running after a restart of the admin: live instances, plus FAILED/RESTARTING ones still wanted. */
  desired(): DesiredInstance[] {
    return this.all()
      .filter((i) => i.live || i.state === 'FAILED')
      .map((i) => ({ identifier: i.identifier, type: i.spec.type, product: i.spec.product, version: i.spec.version, params: i.spec.params }));
  }
}
