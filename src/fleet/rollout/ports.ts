// What the rollout runner needs of the coordinator's pass (docs/fleet.md, the coordinator: work): the fleet as the pass
// read it, after placement wrote its assignments, and the term's fenced writer (src/fleet/coordinator/).
import type { DesiredConnector, DesiredOverride } from '../desired/types.js';
import type { HostAssignments, HostReport, RunningVersion } from '../placement/types.js';
import type { RolloutControl, RolloutRecord, RolloutRequest } from './types.js';

/** A value with the mod revision it was read at. */
export interface Read<T> {
  value: T;
  modRevision: string;
}

/** The fleet as one coordinator pass read it; maps of products keyed `type/product`, of hosts by host name. */
export interface RolloutView {
  /** When it was read (ms, the coordinator's clock). */
  now: number;
  desired: ReadonlyMap<string, DesiredConnector>;
  overrides: ReadonlyMap<string, DesiredOverride>;
  /** Records of live (and leaving) hosts. */
  hosts: ReadonlyMap<string, { incarnation: string; state: 'live' | 'leaving' }>;
  assignments: ReadonlyMap<string, Read<HostAssignments>>;
  reports: ReadonlyMap<string, HostReport>;
  running: ReadonlyMap<string, Read<RunningVersion>>;
  rollouts: ReadonlyMap<string, Read<RolloutRecord>>;
  /** Pending requests of each product, oldest first. */
  requests: ReadonlyMap<string, ReadonlyArray<Read<RolloutRequest>>>;
  controls: ReadonlyMap<string, Read<RolloutControl>>;
}

export type FencedOp = { put: string; value: string } | { delete: string };

/** `target(key) == value`; a create revision of 0: the key is absent. */
export interface FencedCompare {
  key: string;
  target: 'Create' | 'Mod' | 'Version';
  value: string | number;
}

/** The coordinator's fenced writer: one transaction conditioned on its election key's create revision. */
export interface RolloutWriter {
  /** The create revision of the election key: the term this writer writes for. */
  readonly revision: string;
  /** Set once a write was refused because the election key is not ours. */
  readonly fenced: boolean;
  /** False when the fence or a comparison failed (nothing written). */
  commit(ops: FencedOp[], compares?: FencedCompare[]): Promise<boolean>;
}
