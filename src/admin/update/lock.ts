// One update at a time per product: later callers queue behind the running one; other products run in parallel.

/** A FIFO mutex per key. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task of `key` has settled; its result (or error) is the caller's alone. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      // The last one out removes the key, so the map does not grow with every product ever updated.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True while a task of `key` runs or waits. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every task queued so far (all keys) has settled. */
  async idle(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}
