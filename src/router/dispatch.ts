// Which connection takes a command: READY, serving it, matching target, major and product, fewest in flight; a
// connection that has just come (a new version beside the old one, a restart, another instance) starts slowly.
import type { WorkerConnection } from './connection.js';

/** Replies after which a connection is warm: until then it takes at most 1 + served / 4 commands at a time. */
export const SLOW_START_REPLIES = 256;

/**
 * True while `connection` is in slow start and holds all it may: a fresh process runs its code cold (V8 compiles as it
 * goes, a new version may still start at a low priority), and least-in-flight alone would hand it as many commands as
 * the warm worker beside it holds, all of them slow. Each reply lets it take one more per four answered.
 */
function warmingAndFull(connection: WorkerConnection, load: number): boolean {
  return load >= slowStartRoom(connection.served);
}

/** How many commands a connection that answered `served` may hold while others can take them. */
export function slowStartRoom(served: number): number {
  return served < SLOW_START_REPLIES ? 1 + (served >> 2) : Infinity;
}

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
 * process is awake, so fewer processes wake up), then to the one given fewer so far. A connection in slow start that
 * holds all it may is passed over while another can take the command (alone, it takes everything: nothing waits for it
 * to warm up). `inUseOrder`: the connections come most recently used first (registry.ready), so the first idle one that
 * has answered before is the answer and the scan stops there.
 */
export function pickConnection(connections: Iterable<WorkerConnection>, key: DispatchKey, inUseOrder = false): WorkerConnection | undefined {
  let best: WorkerConnection | undefined;
  /** The best of those passed over for their slow start. */
  let warming: WorkerConnection | undefined;
  for (const c of connections) {
    if (!eligible(c, key)) continue;
    const load = c.inFlight.size;
    if (warmingAndFull(c, load)) {
      if (better(c, warming)) warming = c;
      continue;
    }
    if (better(c, best)) {
      best = c;
      if (inUseOrder && load === 0 && c.usedAt > 0) break;
    }
  }
  return best ?? warming;
}

/** Fewer in flight; then the one that answered last; then the one given fewer. */
function better(c: WorkerConnection, than: WorkerConnection | undefined): boolean {
  if (than === undefined) return true;
  const [load, thanLoad] = [c.inFlight.size, than.inFlight.size];
  return load < thanLoad || (load === thanLoad && (c.usedAt > than.usedAt || (c.usedAt === than.usedAt && c.dispatched < than.dispatched)));
}
