// What the policy manager drives: instances, state.json, the router. Real ones are built from the admin in ops.ts.
import type { Logger } from '../../common/log.js';
import type { PolicyRecord } from '../../process/state-schema.js';
import type { Scheduler } from '../../common/scheduler.js';
import type { PolicyRun, PolicySpec } from './policy.js';
import type { RunnerDeps } from './runner.js';

/** The instance a policy runs (identifier = policy name). */
export interface PolicyInstances {
  /** Starts it at `version` (a restore keeps the version it ran) or the newest in the policy's range; resolves when READY. */
  start(spec: PolicySpec, version: string | undefined): Promise<void>;
  /** Drains and stops it; nothing running is fine. */
  stop(name: string): Promise<void>;
  /** True when an instance of that identifier runs (a policy may not take the name of one that is not its own). */
  isLive(name: string): boolean;
}

/** The policies' part of state.json. */
export interface PolicyStorage {
  /** Policies and the versions of the desired instances, as the previous run left them. */
  load(): { policies: PolicyRecord[]; versions: Map<string, string> };
  /** Replaces the stored policies; resolves once on disk. */
  save(records: PolicyRecord[]): Promise<void>;
}

export interface PolicyManagerDeps {
  instances: PolicyInstances;
  storage: PolicyStorage;
  scheduler: Scheduler;
  runner: RunnerDeps;
  logger: Logger;
  /** Told about each run (metrics). */
  onRun?(spec: PolicySpec, run: PolicyRun): void;
}
