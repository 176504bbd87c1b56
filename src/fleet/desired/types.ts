// One connector of the fleet's desired state, as stored in K/desired/TYPE/PRODUCT (docs/fleet.md, desired state).
import type { RestartMode, UpdateMode } from '../../config/types.js';

/** The update policy of a desired connector, with the rollout's fields; durations in ms. */
export interface DesiredUpdate {
  mode: UpdateMode;
  intervalMs: number;
  range: string | undefined;
  /** planned: `HH:MM` or a 5-field cron expression, as written. */
  at: string | undefined;
  maxParallel: number;
  canary: number;
  minHealthyMs: number;
}

export interface DesiredConnector {
  type: string;
  product: string;
  /** The `versions` entries as written (`^1`, `1.2`, `latest`). */
  versions: string[];
  instances: number;
  /** Label selector: every label given must match the host's; empty: every host. */
  hosts: Record<string, string>;
  /** Values as written: `${VAR}` is resolved by each host from its own environment. */
  config: Record<string, string | number | boolean>;
  update: DesiredUpdate;
  restart: RestartMode;
  applied: { by: string; at: number; file: string; digest: string };
}

/** One connector as a desired-state file declares it (before it is stamped with who applied it). */
export type DesiredEntry = Omit<DesiredConnector, 'applied'>;

/** Run-time changes kept beside the desired state (ADMIN_SET_UPDATE_MODE, ADMIN_ROLLBACK's manual mode). */
export interface DesiredOverride {
  update: Pick<DesiredUpdate, 'mode' | 'intervalMs' | 'range' | 'at'>;
  by: string;
  at: number;
  reason: string;
}

/** The effective update policy of a connector: its override over its desired one. */
export function effectiveUpdate(desired: DesiredConnector, override: DesiredOverride | undefined): DesiredUpdate {
  return override ? { ...desired.update, ...override.update } : desired.update;
}

/** What the fleet's desired state holds: its connectors, and the overrides by `type/product`. */
export interface DesiredState {
  connectors: DesiredConnector[];
  overrides: Record<string, DesiredOverride>;
}

/**
 * One change an apply makes, as shown to people: `+ utils/echo instances 6`, `~ utils/echo instances 6 → 3`,
 * `- mail/smtp`, `- utils/echo override`. Values are display strings.
 */
export interface Change {
  op: '+' | '~' | '-';
  /** `type/product` */
  product: string;
  field?: string;
  from?: string;
  to?: string;
}

/** K/cordons/HOST */
export interface Cordon {
  mode: 'cordon' | 'drain';
  by: string;
  at: number;
}

/** K/history/TIME-RAND: who did what to the fleet, and when (the rollout's terminal record is written by the coordinator). */
export type HistoryEntry =
  | { action: 'apply'; at: number; by: string; file: string; digest: string; changes: Change[] }
  | { action: 'override'; at: number; by: string; product: string; update: DesiredOverride['update']; reason: string }
  | { action: 'cordon'; at: number; by: string; host: string; mode: 'cordon' | 'drain' | 'uncordon' }
  | { action: 'rollout'; at: number; by: string; [field: string]: unknown };
