// Items for one destination gathered during one turn of the event loop and sent together after its I/O callbacks (no
// timer: an item alone leaves at once), or earlier when the next one would take the batch past its byte limit.
import type { BatchEntry } from './batch-codec.js';
import { entryBound } from './batch-codec.js';

interface OpenBatch<D> {
  destination: D;
  entries: BatchEntry[];
  bytes: number;
}

/** One callback after the I/O callbacks of this turn for every batcher with something to send: their messages leave
 * together (the NATS client writes what was published in one go). */
export class Turn {
  private waiting: Array<() => void> = [];

  request(flush: () => void): void {
    if (this.waiting.length === 0) setImmediate(() => this.run());
    this.waiting.push(flush);
  }

  private run(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const flush of waiting) flush();
  }
}

export class TurnBatcher<D> {
  private open = new Map<string, OpenBatch<D>>();
  private scheduled = false;

  constructor(
    private readonly turn: Turn,
    /** Bytes a batch's entries may take (the message limit less the room of the head and headers). */
    private readonly limit: () => number,
    private readonly send: (destination: D, entries: BatchEntry[]) => void,
  ) {}

  /** Adds `entry` to the batch for `key`; returns that batch's destination (made by `destination` for a new batch). */
  add(key: string, destination: () => D, entry: BatchEntry): D {
    const bytes = entryBound(entry);
    let batch = this.open.get(key);
    if (batch !== undefined && batch.bytes + bytes > this.limit()) {
      this.open.delete(key);
      this.send(batch.destination, batch.entries);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { destination: destination(), entries: [], bytes: 0 };
      this.open.set(key, batch);
    }
    batch.entries.push(entry);
    batch.bytes += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      this.turn.request(() => this.flush());
    }
    return batch.destination;
  }

  /** Sends every open batch now. */
  flush(): void {
    this.scheduled = false;
    const open = this.open;
    this.open = new Map();
    for (const batch of open.values()) this.send(batch.destination, batch.entries);
  }
}
