// The last admin events, watched on the router's `admin` topic, for the status page and the update metrics.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Event } from '../proto/types.js';
import { parseJsonOrNull } from '../sdk/messages.js';

/** An admin event as the ops API shows it. */
export interface EventView {
  at: string;
  event: string;
  payload: unknown;
}

/** Watches topic `admin`; keeps the last `keep` events; reconnects (with backoff) until closed. */
export class AdminEventFeed {
  private readonly recent: EventView[] = [];
  private stream: ClientReadableStream<Event> | undefined;
  private closed = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly watch: () => ClientReadableStream<Event>,
    private readonly opts: { logger: Logger; keep?: number; onEvent?: (event: Event) => void },
  ) {}

  /** Starts watching (returns at once; the stream opens in the background). */
  start(): void {
    if (this.closed || this.stream) return;
    const stream = this.watch();
    this.stream = stream;
    stream.on('data', (event: Event) => {
      this.retryMs = 250;
      this.recent.push({ at: new Date(Number(event.timestamp_ms) || Date.now()).toISOString(), event: event.event, payload: parseJsonOrNull(event.payload) });
      if (this.recent.length > (this.opts.keep ?? 50)) this.recent.shift();
      this.opts.onEvent?.(event);
    });
    stream.on('error', (error: Error) => {
      if (!this.closed) this.opts.logger.debug({ err: errorMessage(error) }, 'admin event watch failed');
    });
    stream.on('close', () => this.reopen(stream));
  }

  /** The last events, newest last. */
  events(): EventView[] {
    return [...this.recent];
  }

  /** Stops watching. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.cancel();
  }

  private reopen(stream: ClientReadableStream<Event>): void {
    if (this.closed || this.stream !== stream) return;
    this.stream = undefined;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
    this.timer = setTimeout(() => this.start(), delay);
    this.timer.unref();
  }
}
