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

/** One schedule time of a policy, decided by a fleet's coordinator (docs/fleet.md, policies). */
export interface PolicyTick {
  /** The schedule time (epoch ms). */
  tick: number;
  /** The command's uuid, `{policy}-{tick}`: a second send of it is a replay, never a second run. */
  uuid: string;
  /** When the coordinator wrote it (epoch ms). */
  at: number;
}

/** What a fleet does for the policies of this host: their names are fleet-wide, their ticks come from the coordinator. */
export interface PolicyFleet {
  /** Registers every one of `specs` or none; POLICY_EXISTS naming the first one another host holds. */
  register(specs: PolicySpec[]): Promise<void>;
  /** Gives the name up (and its tick record); a registration that is no longer this host's is left alone. */
  unregister(name: string): Promise<void>;
  /** From now on, the ticks of this host's policies: `listed` when found by a list (at start), not as it was written. */
  follow(onTick: (name: string, tick: PolicyTick, listed: boolean) => void): void;
}

export interface PolicyManagerDeps {
  instances: PolicyInstances;
  storage: PolicyStorage;
  scheduler: Scheduler;
  runner: RunnerDeps;
  logger: Logger;
  /**
   * In a fleet: resolves once the host joined it (the policies wait for it: their names are registered there, and the
   * coordinator sends their scheduled runs). Absent: one host, schedules run here.
   */
  fleet?: Promise<PolicyFleet | undefined>;
  /** Told about each run (metrics). */
  onRun?(spec: PolicySpec, run: PolicyRun): void;
}
