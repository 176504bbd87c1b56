// What the rollout runner needs of the coordinator's pass (docs/fleet.md, the coordinator: work): the fleet as the pass
// read it, after placement wrote its assignments, and the term's fenced writer (src/fleet/coordinator/).
import type { FencedWriter } from '../coordinator/fenced.js';
import type { FleetView, Versioned } from '../coordinator/view.js';

/** A value with the mod revision it was read at. */
export type Read<T> = Versioned<T>;

/** The parts of the pass's view a rollout decides from; maps of products keyed `type/product`, of hosts by name. */
export type RolloutView = Pick<FleetView, 'now' | 'desired' | 'overrides' | 'hosts' | 'assignments' | 'reports' | 'running' | 'rollouts' | 'requests' | 'controls'>;

/** The coordinator's fenced writer: one transaction conditioned on its election key's create revision. */
export type RolloutWriter = Pick<FencedWriter, 'revision' | 'fenced' | 'commit'>;
