// What the coordinator assigns to a host, and what a host reports back (docs/fleet.md, placement; a host converging).
import type { RestartMode } from '../../config/types.js';

/** One fleet-managed instance a host must run. */
export interface Assignment {
  /** `{type}-{product}-{major}-{n}` */
  identifier: string;
  type: string;
  product: string;
  major: string;
  n: number;
  version: string;
  /** As written in the desired state (`${VAR}` resolved by the host). */
  config: Record<string, string | number | boolean>;
  restart: RestartMode;
}

/** K/assignments/HOST */
export interface HostAssignments {
  at: number;
  /** When the coordinator first saw this host lost (ms); null while it is live. */
  lostSince: number | null;
  instances: Assignment[];
}

/** One fleet-managed instance as its host reports it. */
export interface InstanceReport {
  identifier: string;
  version: string;
  /** The instance's state (STARTING, READY, RESTARTING, FAILED, STOPPED…), or REFUSED when the host would not start it. */
  state: string;
  /** When it became READY on this version (ms, the host's clock); null when not READY. */
  readySince: number | null;
  restarts: number;
  /** `CODE: reason` of the last failure, if any. */
  error: string | null;
  /** A version this host could not move the instance to (its swap failed; `version` keeps serving); null otherwise. */
  failedVersion: string | null;
  /** The version a swap in flight moves it to (`version` serves until it is READY); null otherwise; absent from older hosts. */
  swapTo?: string | null;
}

/** K/reports/HOST, under the host lease. */
export interface HostReport {
  incarnation: string;
  at: number;
  /** The mod revision of K/assignments/HOST the host had acted on when it wrote this (null: none read); absent from older hosts. */
  assignments?: string | null;
  instances: InstanceReport[];
}

/** K/placement: what could not be placed, and why. */
export interface PlacementGaps {
  at: number;
  missing: Array<{ product: string; wanted: number; placed: number; reason: string }>;
}

/** K/running/TYPE/PRODUCT: the version the fleet runs for a product, and the versions that failed a rollout. */
export interface RunningVersion {
  version: string;
  failed: string[];
  since: number;
  /** The version before the last successful rollout (ADMIN_ROLLBACK goes back to it); null when none. */
  previous?: string | null;
  /** When the coordinator last ran the product's auto or planned update check (ms, its clock). */
  checkedAt?: number;
}

/** `{type}-{product}-{major}-{n}` */
export function fleetIdentifier(type: string, product: string, major: string, n: number): string {
  return `${type}-${product}-${major}-${n}`;
}
