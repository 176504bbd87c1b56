// What the test stacks share: sending a command with the admin token, and every event on topic `admin`, kept and
// waited for (a watch on the router, each event mapped once as it arrives).
import type { Event, Reply } from '../../src/proto/types.js';
import type { RouterRpc } from '../../src/sdk/rpc.js';

/** Sends `command` with the rpc's token; the payload given as an object, the reply's parsed as `data`. */
export async function sendAdmin(rpc: RouterRpc, command: string, payload: unknown = {}, o: { timeoutMs?: number; target?: string } = {}): Promise<Reply & { data: unknown }> {
  const reply = await rpc.sendCommand({ command, payload: JSON.stringify(payload), timeout_ms: o.timeoutMs ?? 60_000, target: o.target ?? '' });
  return { ...reply, data: reply.payload ? JSON.parse(reply.payload) : null };
}

/** An event's payload as an object (`{}` when empty). */
export const payloadOf = (e: Event): Record<string, unknown> => JSON.parse(e.payload || '{}') as Record<string, unknown>;

interface AdminEventLog<T> {
  /** Every admin event since the watch started, mapped. */
  events: T[];
  /** The first event from index `from` matching, waiting up to `ms`. */
  waitFor(match: (item: T) => boolean, ms: number, from: number): Promise<T>;
  cancel(): void;
}

/** Watches topic `admin` on `rpc`, keeping `map(event)` of each. */
export function watchAdminEvents<T>(rpc: RouterRpc, map: (e: Event) => T): AdminEventLog<T> {
  const events: T[] = [];
  const waiters = new Set<() => void>();
  const watch = rpc.watchEvents({ topics: ['admin'] });
  watch.on('data', (e: Event) => {
    events.push(map(e));
    for (const w of waiters) w();
  });
  watch.on('error', () => {});
  const names = (): string => events.map((x) => (x as { event?: string }).event).join(', ');
  return {
    events,
    cancel: () => watch.cancel(),
    waitFor: (match, ms, from) => new Promise((resolve, reject) => {
      let seen = from;
      const check = (): void => {
        for (; seen < events.length; seen++) {
          const item = events[seen]!;
          if (match(item)) {
            done();
            resolve(item);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching admin event within ${ms} ms; seen: ${names()}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    }),
  };
}
