// A fleet rolling update as stored in K/rollouts/TYPE/PRODUCT (docs/fleet.md, a rollout).

export type RolloutState = 'PENDING' | 'CANARY' | 'BATCH' | 'PAUSED' | 'SUCCEEDED' | 'ROLLING_BACK' | 'ROLLED_BACK' | 'ROLLBACK_FAILED';

export const TERMINAL_ROLLOUT_STATES: readonly RolloutState[] = ['SUCCEEDED', 'ROLLED_BACK', 'ROLLBACK_FAILED'];

export type RolloutTrigger = 'command' | 'auto' | 'planned' | 'rollback';

/** One instance in a rollout. */
export interface RolloutInstance {
  host: string;
  from: string;
  to: string;
  state: 'pending' | 'moving' | 'healthy' | 'failed' | 'reverting' | 'reverted';
}

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
}

/** K/rollout-control/TYPE/PRODUCT */
export interface RolloutControl {
  action: 'pause' | 'resume' | 'abort';
  at: number;
  by: string;
}
