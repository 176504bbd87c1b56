// Retries with exponential backoff and jitter; the sleep comes in so tests need not wait.
import { setTimeout as sleepTimer } from 'node:timers/promises';

/** How to wait between attempts (real: node's timer, abortable). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

const realSleep: Sleep = async (ms, signal) => {
  await sleepTimer(ms, undefined, signal ? { signal } : undefined);
};

/** Backoff before retry `attempt` (1-based): 250 ms doubling, capped at 4 s, with ±25 % jitter. */
function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(4000, 250 * 2 ** (attempt - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

/** Runs `attempt` up to `retries + 1` times while `retryable(error)` says so. */
export async function withRetries<T>(
  run: (attempt: number) => Promise<T>,
  options: { retries: number; retryable: (error: unknown) => boolean; sleep?: Sleep; signal?: AbortSignal },
): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await run(attempt);
    } catch (error) {
      if (attempt >= options.retries || !options.retryable(error) || options.signal?.aborted) throw error;
      await sleep(backoffMs(attempt + 1), options.signal);
    }
  }
}
