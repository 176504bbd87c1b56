// A fleet rolling update as stored in K/rollouts/TYPE/PRODUCT (docs/fleet.md, a rollout).

export type RolloutState = 'PENDING' | 'CANARY' | 'BATCH' | 'PAUSED' | 'SUCCEEDED' | 'ROLLING_BACK' | 'ROLLED_BACK' | 'ROLLBACK_FAILED';

export const TERMINAL_ROLLOUT_STATES: readonly RolloutState[] = ['SUCCEEDED', 'ROLLED_BACK', 'ROLLBACK_FAILED'];

export type RolloutTrigger = 'command' | 'auto' | 'planned' | 'rollback';

export type RolloutInstanceState = 'pending' | 'moving' | 'healthy' | 'failed' | 'reverting' | 'reverted';

/** One instance in a rollout. */
export interface RolloutInstance {
  host: string;
  from: string;
  to: string;
  state: RolloutInstanceState;
  /** When its assignment was set to `to` (moving) or back to `from` (reverting); the coordinator's clock, ms. */
  movedAt: number | null;
  /** The host's incarnation when it was moved: another one means the host was lost meanwhile. */
  incarnation: string | null;
  /** Its report's error when it was moved: a different one afterwards is a failure of the swap. */
  error: string | null;
  /** Its restarts when first reported on `to`: more is a failure. */
  restarts: number | null;
  /** Its report's readySince when first seen READY on `to` (the host's clock, compared for equality only). */
  readySince: number | null;
  /** When the coordinator first saw it READY on `to` (its own clock): healthy `minHealthyMs` later. */
  readyAt: number | null;
}

/** Why a rollout rolled back: an instance failed, someone aborted it, or the request could not be served. */
export type RolloutCause = 'failure' | 'abort' | 'refused';

export interface RolloutRecord {
  id: string;
  /** `type/product` */
  product: string;
  from: string;
  to: string;
  state: RolloutState;
  /** The state to go back to on resume, while PAUSED. */
  pausedFrom: RolloutState | null;
  trigger: RolloutTrigger;
  canary: number;
  maxParallel: number;
  minHealthyMs: number;
  batches: string[][];
  /** Index into batches of the batch in progress (the canary batch is 0 when canary > 0). */
  batch: number;
  instances: Record<string, RolloutInstance>;
  /** Ids of the requests this rollout answers (their admins reply when it ends). */
  requests: string[];
  /** Why it failed or was aborted; null otherwise. */
  reason: string | null;
  /** The host where it failed; null otherwise. */
  host: string | null;
  /** Why it is rolling back or rolled back; null otherwise. */
  cause: RolloutCause | null;
  /** When the batch in progress (or the rollback) began: the coordinator's clock, ms. */
  batchStartedAt: number | null;
  /** The election term (create revision of K/coordinator) of its last write: a new coordinator waits for a batch again. */
  term: string | null;
  startedAt: number;
  endedAt: number | null;
}

/** K/rollout-requests/TYPE/PRODUCT/ID */
export interface RolloutRequest {
  id: string;
  version: string | undefined;
  maxParallel: number | undefined;
  canary: number | undefined;
  minHealthyMs: number | undefined;
  trigger: RolloutTrigger;
  by: string;
  at: number;
  /** Written by the coordinator when it refuses the request or when the rollout answering it ends. */
  result?: RolloutResult | undefined;
}

/** How a request was answered: its rollout's end (or its refusal), as the admin that wrote it replies. */
export interface RolloutResult {
  state: RolloutState;
  from: string;
  to: string;
  /** The identifiers the rollout moved (or tried to). */
  instances: string[];
  reason: string | null;
  host: string | null;
  cause: RolloutCause | null;
  rolloutId: string;
  /** When it was written (the coordinator's clock, ms): the coordinator deletes it an hour later if no admin did. */
  at: number;
}

/** K/rollout-control/TYPE/PRODUCT */
export interface RolloutControl {
  action: 'pause' | 'resume' | 'abort';
  /** The rollout it was meant for: a control for another one is dropped. */
  rolloutId: string;
  at: number;
  by: string;
}
