// The overlap of a rolling update: once the new worker is READY, the old one keeps serving beside it while the router's
// slow start hands the new one a growing share (src/router/dispatch.ts), until the new one is warm, the traffic is light
// enough for a cold worker, or `timeouts.warmup` passed; only then is the old one drained (docs/architecture.md, a
// rolling update).
import type { Clock } from '../../common/clock.js';
import type { WorkerInfo } from '../../proto/types.js';
import { SLOW_START_REPLIES, slowStartRoom } from '../../router/dispatch.js';
import type { RouterRpc } from '../../sdk/rpc.js';

/** How often the router's worker list is read during the overlap. */
const LOOK_EVERY_MS = 50;
/** Light traffic answers fewer commands than this per LOOK_EVERY_MS (under 500 commands/s), both versions together. */
const LIGHT_REPLIES = 25;

interface WarmUpDeps {
  rpc: Pick<RouterRpc, 'listWorkers'>;
  clock: Clock;
  /** timeouts.warmup: the longest overlap; 0 drains the old worker as soon as the new one is READY. */
  warmupMs: number;
}

/** Why the overlap ended (logged at debug level). */
type WarmUpEnd = 'warm' | 'light' | 'timeout' | 'off' | 'gone';

/** Waits while `identifier` runs `from` and `to` side by side; resolves once the old one may be drained. */
export async function warmUp(deps: WarmUpDeps, identifier: string, from: string, to: string): Promise<WarmUpEnd> {
  // the same IDENTIFIER@VERSION twice (a version re-published in place) cannot be told apart in the list
  if (deps.warmupMs <= 0 || from === to) return 'off';
  const until = deps.clock.now() + deps.warmupMs;
  let last: { total: number; at: number } | undefined;
  for (;;) {
    const list = await deps.rpc.listWorkers().catch(() => undefined);
    const find = (version: string): WorkerInfo | undefined => list?.workers.find((w) => w.identifier === identifier && w.version === version && w.state === 'READY');
    const [old, next] = [find(from), find(to)];
    if (old === undefined || next === undefined) return 'gone';
    if (next.served >= SLOW_START_REPLIES) return 'warm';
    // Light traffic: everything in flight fits the new one's slow-start room and few replies came since the last look.
    // A cold worker keeps up with that (a few ms more per command, no queue): the old one goes now rather than after
    // timeouts.warmup (one instance among many of a product rarely gets its 256 replies quickly).
    const total = old.served + next.served;
    const now = deps.clock.now();
    const fits = old.in_flight + next.in_flight <= slowStartRoom(next.served);
    if (last !== undefined && fits && (total - last.total) * LOOK_EVERY_MS < LIGHT_REPLIES * Math.max(1, now - last.at)) return 'light';
    last = { total, at: now };
    const left = until - now;
    if (left <= 0) return 'timeout';
    await deps.clock.sleep(Math.min(LOOK_EVERY_MS, left));
  }
}
