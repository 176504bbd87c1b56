// Replies to the router: to a router that takes batches, the replies of one turn of the event loop leave as one
// message (one reply alone keeps the single form), never past the 4 MiB a gRPC message may carry.
import type { Reply, WorkerMessage } from '../proto/types.js';
import type { StreamWriter } from './stream-writer.js';

/** Bytes of replies per batch: gRPC refuses messages over 4 MiB; the rest is room for the envelope. */
const BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Protobuf framing of a reply beyond its strings. */
const REPLY_FRAMING = 32;

type WorkerReply = Partial<Reply> & { uuid: string; payload: string; error: string };

/** Bytes a reply's strings may take in UTF-8 (at most 3 per UTF-16 unit), or exactly when that bound is too big to use. */
function replyBytes(r: WorkerReply, room: number): number {
  const bound = REPLY_FRAMING + 3 * (r.uuid.length + r.payload.length + r.error.length);
  if (bound <= room) return bound;
  return REPLY_FRAMING + Buffer.byteLength(r.uuid) + Buffer.byteLength(r.payload) + Buffer.byteLength(r.error);
}

export class ReplySender {
  /** Set from the router's Welcome. */
  batching = false;
  #batch: WorkerReply[] = [];
  #bytes = 0;
  /** Settles like the write of the batch being gathered. */
  #written: ((write: Promise<void>) => void) | undefined;
  #writtenPromise: Promise<void> = Promise.resolve();

  constructor(private readonly writer: StreamWriter<WorkerMessage>) {}

  /** Sends `reply` (in this turn's batch when batching); resolves once its message was handed to the stream. */
  send(reply: WorkerReply): Promise<void> {
    if (!this.batching) return this.writer.write({ reply });
    const bytes = replyBytes(reply, BATCH_BYTES - this.#bytes);
    if (this.#bytes + bytes > BATCH_BYTES) this.#flush();
    if (this.#written === undefined) {
      this.#writtenPromise = new Promise<void>((resolve) => (this.#written = resolve));
      // after the I/O callbacks of this turn: every handler that finished in it joins, no timer waited on
      setImmediate(() => this.#flush());
    }
    this.#batch.push(reply);
    this.#bytes += bytes;
    return this.#writtenPromise;
  }

  #flush(): void {
    const [batch, written] = [this.#batch, this.#written];
    if (written === undefined) return;
    this.#batch = [];
    this.#bytes = 0;
    this.#written = undefined;
    written(this.writer.write(batch.length === 1 ? { reply: batch[0] as WorkerReply } : { replies: { replies: batch } }));
  }
}
