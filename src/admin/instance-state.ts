// An instance's lifecycle (docs/architecture.md): a string union whose transitions are guarded and logged.
import { WorkerAdminError } from '../common/errors.js';

export type InstanceState = 'STARTING' | 'READY' | 'DRAINING' | 'STOPPED' | 'RESTARTING' | 'FAILED' | 'INVALID';

/** Which states each state may move to. */
const TRANSITIONS: Record<InstanceState, readonly InstanceState[]> = {
  STARTING: ['READY', 'INVALID', 'RESTARTING', 'FAILED', 'DRAINING', 'STOPPED'],
  READY: ['DRAINING', 'RESTARTING', 'FAILED', 'STOPPED'],
  DRAINING: ['STOPPED'],
  RESTARTING: ['STARTING', 'DRAINING', 'STOPPED', 'FAILED'],
  STOPPED: ['STARTING'],
  FAILED: ['STARTING', 'STOPPED'],
  INVALID: ['STARTING', 'STOPPED'],
};

/** States in which an instance has (or is about to have) a live process. */
export const LIVE_STATES: readonly InstanceState[] = ['STARTING', 'READY', 'DRAINING', 'RESTARTING'];

/** The admin-topic event published on entering a state. */
export const STATE_EVENTS: Record<InstanceState, string> = {
  STARTING: 'WORKER_STARTING',
  READY: 'WORKER_READY',
  DRAINING: 'WORKER_DRAINING',
  STOPPED: 'WORKER_STOPPED',
  RESTARTING: 'WORKER_RESTARTING',
  FAILED: 'WORKER_FAILED',
  INVALID: 'WORKER_INVALID',
};

/** True when `from → to` is a legal move. */
function canTransition(from: InstanceState, to: InstanceState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws STATE_INVALID naming the instance when `from → to` is not a legal move. */
export function assertTransition(identifier: string, from: InstanceState, to: InstanceState): void {
  if (!canTransition(from, to)) {
    throw new WorkerAdminError('STATE_INVALID', `instance ${identifier}: cannot go from ${from} to ${to}`);
  }
}
