// A writer for server streams that honours write() === false: holds messages itself until 'drain'.
import type { Writable } from 'node:stream';

interface StreamWriterOptions<T> {
  /** Past this many held messages the stream counts as congested: `offer` drops, dispatch looks elsewhere. */
  congestedAt: number;
  /** Called once when it stops being congested (e.g. to serve queued commands). */
  onRelief?: () => void;
  /** Called when the stream stayed blocked (no 'drain') for `stallMs`: a reader that never reads. */
  onStall?: () => void;
  stallMs?: number;
  /** How many items a message counts for in `buffered` (a batch of commands counts each); 1 when not given. */
  weigh?: (message: T) => number;
}

interface GrpcStatusLike {
  code: number;
  details: string;
}

/** Serialises writes to one stream; never writes past a `false` until the stream drains. */
export class StreamWriter<T> {
  private held: T[] = [];
  /** Index of the next held message (shift() on a long array is O(n)). */
  private head = 0;
  /** Items in the held messages (see `weigh`). */
  private heldItems = 0;
  private blocked = false;
  private ending: GrpcStatusLike | 'ok' | undefined;
  private wasCongested = false;
  private finished = false;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: Writable,
    private readonly options: StreamWriterOptions<T>,
  ) {
    stream.on('drain', () => this.flush());
    stream.on('close', () => {
      this.finished = true;
      this.clearHeld();
      this.clearStall();
    });
  }

  /** Items waiting in this writer (not yet handed to the stream). */
  get buffered(): number {
    return this.heldItems;
  }

  /** Messages waiting in this writer. */
  private get holding(): number {
    return this.held.length - this.head;
  }

  /** True when the reader is slow enough that optional messages are dropped. */
  get congested(): boolean {
    return this.buffered >= this.options.congestedAt;
  }

  /** True once end/fail was called or the stream closed. */
  get closed(): boolean {
    return this.finished || this.ending !== undefined;
  }

  /** Writes a message that must not be lost (commands, welcome, drain). False when the stream is gone. */
  send(message: T): boolean {
    if (this.closed) return false;
    if (this.blocked || this.holding > 0) {
      this.held.push(message);
      this.heldItems += this.options.weigh?.(message) ?? 1;
      if (this.congested) this.wasCongested = true;
      return true;
    }
    this.writeNow(message);
    return true;
  }

  /** Writes an optional message (events) unless the reader is congested. False when dropped. */
  offer(message: T): boolean {
    if (this.congested) return false;
    return this.send(message);
  }

  /** Ends the stream with OK once held messages are written. */
  end(): void {
    if (this.closed) return;
    this.ending = 'ok';
    if (!this.blocked && this.holding === 0) this.finish();
  }

  /** Ends the stream with an error status once held messages are written. */
  fail(status: GrpcStatusLike): void {
    if (this.closed) return;
    this.ending = status;
    if (!this.blocked && this.holding === 0) this.finish();
  }

  /** Ends the stream with an error status at once, dropping held messages. */
  abort(status: GrpcStatusLike): void {
    if (this.finished) return;
    this.clearHeld();
    this.ending = status;
    this.finish();
  }

  private writeNow(message: T): void {
    try {
      if (!this.stream.write(message)) this.block();
    } catch {
      this.finished = true;
    }
  }

  private block(): void {
    this.blocked = true;
    const { onStall, stallMs } = this.options;
    if (!onStall || stallMs === undefined || this.stallTimer) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.blocked && !this.finished) onStall();
    }, stallMs);
    this.stallTimer.unref();
  }

  private clearStall(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private flush(): void {
    this.clearStall();
    this.blocked = false;
    while (this.holding > 0 && !this.blocked && !this.finished) {
      const message = this.held[this.head] as T;
      this.held[this.head] = undefined as T;
      this.head += 1;
      this.heldItems -= this.options.weigh?.(message) ?? 1;
      this.writeNow(message);
    }
    if (this.holding === 0) this.clearHeld();
    if (this.blocked) return;
    if (this.ending !== undefined) {
      this.finish();
      return;
    }
    if (this.wasCongested && !this.congested) {
      this.wasCongested = false;
      this.options.onRelief?.();
    }
  }

  private clearHeld(): void {
    this.held = [];
    this.head = 0;
    this.heldItems = 0;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearStall();
    const ending = this.ending;
    try {
      if (ending === undefined || ending === 'ok') this.stream.end();
      else this.stream.emit('error', Object.assign(new Error(ending.details), ending));
    } catch {
      // the stream is already gone: nothing left to tell its reader
    }
  }
}
