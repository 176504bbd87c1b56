// Update modes per product (docs/architecture.md): manual (nothing scheduled), auto (a check every interval), planned (a check at
// each time of `at`). The config gives the start policy; ADMIN_SET_UPDATE_MODE / ADMIN_ROLLBACK override it in state.json.
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { parseProductRef, productKey } from '../../common/names.js';
import type { ConnectorConfig, UpdatePolicy } from '../../config/types.js';
import type { AdminPersistence } from '../persistence.js';
import type { ProductRef } from '../payloads.js';
import { describePolicy, fromRecord, MANUAL, toRecord } from './policy.js';
import type { ScheduledTask, Scheduler } from '../../common/scheduler.js';

interface ModesDeps {
  scheduler: Scheduler;
  logger: Logger;
  persistence: Pick<AdminPersistence, 'snapshot' | 'update'>;
  connectors: readonly ConnectorConfig[];
  /** An automatic check of one product; never throws. */
  check(ref: ProductRef, trigger: 'auto' | 'planned'): Promise<void>;
}

interface Entry {
  ref: ProductRef;
  policy: UpdatePolicy;
  job: ScheduledTask | undefined;
}

type ModesState = 'IDLE' | 'RUNNING' | 'CLOSED';

/** The effective policy of each product and its scheduled job. */
export class UpdateModes {
  private readonly entries = new Map<string, Entry>();
  private state: ModesState = 'IDLE';

  constructor(private readonly deps: ModesDeps) {}

  /** Schedules every configured connector, with the modes saved by a previous run taking precedence. */
  start(): void {
    if (this.state !== 'IDLE') return;
    this.state = 'RUNNING';
    for (const connector of this.deps.connectors) this.apply({ type: connector.type, product: connector.product }, connector.update);
    for (const [product, record] of Object.entries(this.deps.persistence.snapshot().updateModes)) {
      let ref: ProductRef;
      let policy: UpdatePolicy;
      try {
        ref = parseProductRef(product);
        policy = fromRecord(record, this.configured(ref));
      } catch (error) {
        this.deps.logger.warn({ product, err: errorMessage(error) }, 'saved update mode ignored: the config\'s applies');
        continue;
      }
      this.apply(ref, policy);
    }
  }

  /** The policy in force for a product (manual when neither the config nor a command set one). */
  policyOf(ref: ProductRef): UpdatePolicy {
    return this.entries.get(productKey(ref))?.policy ?? this.configured(ref);
  }

  /** Persists and applies a policy; returns the ADMIN_SET_UPDATE_MODE reply. */
  async set(ref: ProductRef, policy: UpdatePolicy): Promise<Record<string, unknown>> {
    await this.deps.persistence.update((s) => { s.updateModes[productKey(ref)] = toRecord(policy); });
    this.apply(ref, policy);
    this.deps.logger.info({ product: productKey(ref), mode: policy.mode, at: policy.at, intervalMs: policy.intervalMs }, 'update mode set');
    return this.describe(ref);
  }

  /** {mode, at, interval, nextCheck} of a product. */
  describe(ref: ProductRef): Record<string, unknown> {
    const entry = this.entries.get(productKey(ref));
    return describePolicy(entry?.policy ?? this.configured(ref), entry?.job?.nextRun());
  }

  /** Cancels every scheduled check. Idempotent. */
  close(): void {
    this.state = 'CLOSED';
    for (const entry of this.entries.values()) entry.job?.cancel();
  }

  private apply(ref: ProductRef, policy: UpdatePolicy): void {
    const product = productKey(ref);
    this.entries.get(product)?.job?.cancel();
    const entry: Entry = { ref, policy, job: undefined };
    this.entries.set(product, entry);
    if (this.state !== 'RUNNING') return;
    const fire = (trigger: 'auto' | 'planned') => () => this.deps.check(ref, trigger);
    if (policy.mode === 'auto') entry.job = this.deps.scheduler.schedule({ kind: 'every', ms: policy.intervalMs }, fire('auto'));
    else if (policy.mode === 'planned' && policy.cron !== undefined) entry.job = this.deps.scheduler.schedule({ kind: 'cron', expression: policy.cron }, fire('planned'));
  }

  private configured(ref: ProductRef): UpdatePolicy {
    return this.deps.connectors.find((c) => c.type === ref.type && c.product === ref.product)?.update ?? MANUAL;
  }
}
