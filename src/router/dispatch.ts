// Which connection takes a command: READY, serving it, matching target, major and product, fewest in flight.
import type { WorkerConnection } from './connection.js';

interface DispatchKey {
  command: string;
  /** Pins an instance identifier ('' = any). */
  target: string;
  /** Pins a major version ('' = any). */
  major: string;
  /** Pins a product, `type/product` ('' or absent = any). */
  product?: string;
}

/** True when `connection` may take `key` now. */
function eligible(connection: WorkerConnection, key: DispatchKey): boolean {
  return (
    connection.canTake(key.command) &&
    (key.target === '' || connection.identity.identifier === key.target) &&
    (key.major === '' || connection.major === key.major) &&
    (!key.product || connection.product === key.product)
  );
}

/**
 * The eligible connection with the fewest commands in flight. Ties go to the one that answered most recently (its
 * process is awake, so fewer processes wake up), then to the one given fewer so far.
 * `inUseOrder`: the connections come most recently used first (registry.ready), so the first idle one that has
 * answered before is the answer and the scan stops there.
 */
export function pickConnection(connections: Iterable<WorkerConnection>, key: DispatchKey, inUseOrder = false): WorkerConnection | undefined {
  let best: WorkerConnection | undefined;
  let bestLoad = 0;
  for (const c of connections) {
    if (!eligible(c, key)) continue;
    const load = c.inFlight.size;
    if (best === undefined || load < bestLoad || (load === bestLoad && (c.usedAt > best.usedAt || (c.usedAt === best.usedAt && c.dispatched < best.dispatched)))) {
      best = c;
      bestLoad = load;
      if (inUseOrder && load === 0 && c.usedAt > 0) break;
    }
  }
  return best;
}
