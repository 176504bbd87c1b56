// Ordered writes to a gRPC stream that wait when write() returns false (backpressure), never buffering without bound.
import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** A writer over one stream: `write` resolves once the message is handed to gRPC with room to spare. */
export interface StreamWriter<T> {
  write(message: T): Promise<void>;
  /** True while the stream's buffer is full (cheap messages such as heartbeats are skipped then). */
  readonly blocked: boolean;
  /** Resolves once every queued write was handed over. */
  flushed(): Promise<void>;
}

/** Wraps `stream`; writes after it ended or failed reject with the stream's error. */
export function createStreamWriter<T>(stream: Writable): StreamWriter<T> {
  // every write waits for the previous one, so order holds and a full buffer stops everyone
  let tail: Promise<void> = Promise.resolve();
  let waitingForDrain = false;

  const writeNow = async (message: T): Promise<void> => {
    if (stream.writableEnded || stream.destroyed) throw new Error('the router stream is closed');
    if (stream.write(message)) return;
    waitingForDrain = true;
    const done = new AbortController();
    try {
      // 'close' also ends the wait: a dead stream must not hang the writer
      await Promise.race([once(stream, 'drain', { signal: done.signal }), once(stream, 'close', { signal: done.signal })]);
    } finally {
      waitingForDrain = false;
      done.abort(); // removes the losing listener
    }
  };

  return {
    write(message: T): Promise<void> {
      const next = tail.then(() => writeNow(message));
      tail = next.catch(() => undefined);
      return next;
    },
    get blocked() {
      return waitingForDrain;
    },
    flushed: () => tail,
  };
}
