// Replies and events to the router: to a router that takes batches of them, what one turn of the event loop produced
// leaves as one message (one alone keeps the single form), never past the 4 MiB a gRPC message may carry. The reply to
// a command that came alone leaves at once instead (docs/protocol.md, batches on the Connect stream).
import type { Event, Reply, WorkerMessage } from '../proto/types.js';
import type { StreamWriter } from './stream-writer.js';

/** Bytes of one batch: gRPC refuses messages over 4 MiB; the rest is room for the envelope. */
const BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Protobuf framing of a reply or an event beyond its strings. */
const FRAMING = 48;

type WorkerReply = Partial<Reply> & { uuid: string; payload: string; error: string };
type WorkerEvent = Partial<Event> & { event: string; topic: string; payload: string };

/** Bytes the strings may take in UTF-8 (at most 3 per UTF-16 unit), or exactly when that bound is too big to use. */
function stringBytes(strings: string[], room: number): number {
  let units = 0;
  for (const s of strings) units += s.length;
  if (FRAMING + 3 * units <= room) return FRAMING + 3 * units;
  let bytes = FRAMING;
  for (const s of strings) bytes += Buffer.byteLength(s);
  return bytes;
}

/** How one kind of message is sent alone and in a batch. */
interface BatchForm<T> {
  single(item: T): WorkerMessage;
  many(items: T[]): WorkerMessage;
  bytes(item: T, room: number): number;
}

const REPLIES: BatchForm<WorkerReply> = {
  single: (reply) => ({ reply }),
  many: (replies) => ({ replies: { replies } }),
  bytes: (r, room) => stringBytes([r.uuid, r.payload, r.error], room),
};

const EVENTS: BatchForm<WorkerEvent> = {
  single: (event) => ({ event }),
  many: (events) => ({ events: { events } }),
  bytes: (e, room) => stringBytes([e.event, e.topic, e.payload, e.reference_uuid ?? ''], room),
};

/** One kind of message, batched per turn of the event loop once `batching` is set (from the router's Welcome). */
class TurnSender<T> {
  batching = false;
  #batch: T[] = [];
  #bytes = 0;
  /** Settles like the write of the batch being gathered. */
  #written: ((write: Promise<void>) => void) | undefined;
  #writtenPromise: Promise<void> = Promise.resolve();

  constructor(
    private readonly writer: StreamWriter<WorkerMessage>,
    private readonly form: BatchForm<T>,
  ) {}

  /** Sends `item` (in this turn's batch when batching); resolves once its message was handed to the stream. */
  send(item: T): Promise<void> {
    if (!this.batching) return this.writer.write(this.form.single(item));
    const bytes = this.form.bytes(item, BATCH_BYTES - this.#bytes);
    if (this.#bytes + bytes > BATCH_BYTES) this.flush();
    if (this.#written === undefined) {
      this.#writtenPromise = new Promise<void>((resolve) => (this.#written = resolve));
      // after the I/O callbacks of this turn: every handler that finished in it joins, no timer waited on
      setImmediate(() => this.flush());
    }
    this.#batch.push(item);
    this.#bytes += bytes;
    return this.#writtenPromise;
  }

  /** Sends `item` alone, at once, after the batch gathered so far (keeping the order). */
  sendNow(item: T): Promise<void> {
    this.flush();
    return this.writer.write(this.form.single(item));
  }

  /** Writes the batch gathered so far now, if any. */
  flush(): void {
    const [batch, written] = [this.#batch, this.#written];
    if (written === undefined) return;
    this.#batch = [];
    this.#bytes = 0;
    this.#written = undefined;
    written(this.writer.write(batch.length === 1 ? this.form.single(batch[0] as T) : this.form.many(batch)));
  }
}

export type ReplySender = TurnSender<WorkerReply>;
export type EventSender = TurnSender<WorkerEvent>;

/** Replies: batched to a router whose Welcome says `batching`. */
export const replySender = (writer: StreamWriter<WorkerMessage>): ReplySender => new TurnSender(writer, REPLIES);
/** Events: batched to a router whose Welcome says `event_batches`. */
export const eventSender = (writer: StreamWriter<WorkerMessage>): EventSender => new TurnSender(writer, EVENTS);
