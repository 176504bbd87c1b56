// Waits for SIGINT or SIGTERM: long-running subcommands drain on either, then exit 0.
import { once } from 'node:events';

/** Resolves with the name of the first SIGINT/SIGTERM received. */
export async function waitForSignal(): Promise<NodeJS.Signals> {
  const abort = new AbortController();
  try {
    const first = await Promise.race([
      once(process, 'SIGINT', { signal: abort.signal }).then(() => 'SIGINT' as const),
      once(process, 'SIGTERM', { signal: abort.signal }).then(() => 'SIGTERM' as const),
    ]);
    return first;
  } finally {
    abort.abort();
  }
}
