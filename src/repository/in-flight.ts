// Concurrent identical requests share one: 200 starts at once GET versions.yaml once, not 200 times.

/** Runs `run` for a key unless a run for that key is still pending, in which case its promise is returned. */
type InFlight<T> = (key: string, run: () => Promise<T>) => Promise<T>;

/** A new, empty table of pending runs; a key is forgotten once its run settles, so later calls see fresh data. */
export function createInFlight<T>(): InFlight<T> {
  const pending = new Map<string, Promise<T>>();
  return (key, run) => {
    const existing = pending.get(key);
    if (existing) return existing;
    const started = run().finally(() => pending.delete(key));
    pending.set(key, started);
    return started;
  };
}
