// The worker's state union and its legal transitions (Temporal-style: one guarded, logged setter).
import { WorkerAdminError } from '../common/errors.js';
import type { WorkerState } from './types.js';

const TRANSITIONS: Record<WorkerState, readonly WorkerState[]> = {
  CONNECTING: ['READY', 'FAILED'],
  READY: ['DRAINING', 'FAILED'],
  DRAINING: ['CLOSING', 'FAILED'],
  CLOSING: ['CLOSED', 'FAILED'],
  CLOSED: [],
  FAILED: [],
};

/** Holds the state; `to` refuses an illegal transition with a named error and logs the legal ones. */
export class Lifecycle {
  #state: WorkerState = 'CONNECTING';

  constructor(private readonly log: (line: string) => void) {}

  get state(): WorkerState {
    return this.#state;
  }

  /** True once the worker is CLOSED or FAILED. */
  get ended(): boolean {
    return this.#state === 'CLOSED' || this.#state === 'FAILED';
  }

  /** Moves to `next`, logging why; throws STATE_INVALID for a transition the table does not allow. */
  to(next: WorkerState, why: string): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new WorkerAdminError('STATE_INVALID', `worker state ${this.#state} cannot become ${next} (${why})`);
    }
    this.log(`${this.#state} -> ${next}: ${why}`);
    this.#state = next;
  }
}
