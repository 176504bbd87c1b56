// The update side of the admin wired in one place: the rolling updater, the update modes that trigger it, their
// start (modes restored from state.json) and their stop.
import type { Logger } from '../../common/log.js';
import type { AdminConfig } from '../../config/types.js';
import type { RepositoryClient } from '../../repository/client.js';
import type { InstanceRegistry } from '../instances.js';
import type { AdminPersistence } from '../persistence.js';
import type { ProductRef } from '../payloads.js';
import { UpdateModes } from './modes.js';
import type { RollingDeps } from './rolling.js';
import type { Scheduler } from '../../common/scheduler.js';
import { Updater, type UpdateResult } from './updater.js';

interface UpdateServiceDeps extends Omit<RollingDeps, 'closing'> {
  config: AdminConfig;
  registry: InstanceRegistry;
  repository: Pick<RepositoryClient, 'listVersions'>;
  persistence: Pick<AdminPersistence, 'snapshot' | 'update'>;
  publish(event: string, payload: Record<string, unknown>): void;
  scheduler: Scheduler;
  logger: Logger;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** Rolling updates, rollback and update modes of every product. */
export class UpdateService {
  readonly updater: Updater;
  readonly modes: UpdateModes;
  private closing: Promise<void> | undefined;

  constructor(deps: UpdateServiceDeps) {
    const logger = deps.logger.child({ component: 'updater' });
    this.updater = new Updater({
      registry: deps.registry, launch: deps.launch, drainAndStop: deps.drainAndStop, publish: deps.publish, ...(deps.warmUp ? { warmUp: deps.warmUp } : {}),
      persistence: deps.persistence, logger,
      listVersions: (ref) => deps.repository.listVersions(ref.type, ref.product),
      rangeOf: (ref) => this.modes.policyOf(ref).range, now: deps.now,
    });
    this.modes = new UpdateModes({
      scheduler: deps.scheduler, logger, persistence: deps.persistence, connectors: deps.config.connectors,
      check: (ref, trigger) => this.updater.check(ref, trigger),
    });
  }

  /** Schedules the auto and planned checks (modes saved in state.json first). */
  start(): void {
    this.modes.start();
  }

  /** ADMIN_ROLLBACK: the mode goes manual first (persisted), so that auto mode cannot undo the rollback. */
  async rollback(ref: ProductRef): Promise<UpdateResult> {
    await this.modes.set(ref, { ...this.modes.policyOf(ref), mode: 'manual', at: undefined, cron: undefined });
    return this.updater.rollback(ref);
  }

  /** No more checks; waits for running updates. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.modes.close();
      await this.updater.close();
    })());
  }
}
