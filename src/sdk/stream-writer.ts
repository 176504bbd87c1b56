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

/** A write handed over with room to spare: nothing to wait for. */
export const HANDED_OVER: Promise<void> = Promise.resolve();

/** Wraps `stream`; writes after it ended or failed reject with the stream's error. */
export function createStreamWriter<T>(stream: Writable): StreamWriter<T> {
  // a write waits for the previous ones only while some wait (a full buffer stops everyone); order holds either way
  let tail: Promise<void> = HANDED_OVER;
  /** Writes waiting behind a full buffer. */
  let queued = 0;
  let waitingForDrain = false;

  const waitForRoom = async (): Promise<void> => {
    const done = new AbortController();
    try {
      // 'close' also ends the wait: a dead stream must not hang the writer
      await Promise.race([once(stream, 'drain', { signal: done.signal }), once(stream, 'close', { signal: done.signal })]);
    } finally {
      waitingForDrain = false;
      done.abort(); // removes the losing listener
    }
  };

  const handOver = (message: T): Promise<void> => {
    if (stream.writableEnded || stream.destroyed) return Promise.reject(new Error('the router stream is closed'));
    if (stream.write(message)) return HANDED_OVER;
    waitingForDrain = true;
    return waitForRoom();
  };

  return {
    write(message: T): Promise<void> {
      if (queued === 0 && !waitingForDrain) {
        // the common case: nothing waits, the message goes now (no promise chained per write)
        const done = handOver(message);
        tail = done === HANDED_OVER ? HANDED_OVER : done.catch(() => undefined);
        return done;
      }
      queued += 1;
      const next = tail.then(() => {
        queued -= 1;
        return handOver(message);
      });
      tail = next.catch(() => undefined);
      return next;
    },
    get blocked() {
      return waitingForDrain;
    },
    flushed: () => tail,
  };
}
