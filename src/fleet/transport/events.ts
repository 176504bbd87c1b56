// Events between hosts: each alone on the events subject while some host does not take batches; else the events of one
// topic and turn of the event loop in one message on that topic's subject (only hosts that want the topic get it).
// And what a message received on either carries.
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import type { Logger } from '../../common/log.js';
import type { Event } from '../../proto/types.js';
import { batchEntry, decodeBatch, encodeBatch, entryBound, type BatchEntry } from './batch-codec.js';
import { envelopeOf, waHeader, type HostRef } from './envelope.js';
import { PROTOCOL, type Subjects } from './subjects.js';
import { TurnBatcher, type Turn } from './turn-batcher.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the events need of the transport. */
interface EventLink {
  /** Shared by the transport's batchers: what they gather leaves together. */
  readonly turn: Turn;
  linkUp(): boolean;
  /** The bytes a batch's entries may take of the server's max_payload. */
  entryLimit(): number;
  self(): HostRef;
  /** True when every other host takes batch messages. */
  peersBatch(): boolean;
  /** The subject of one event each, and of a topic's batches. */
  subjects: Pick<Subjects, 'events' | 'topic'>;
  /** Publishes now (a failure is logged). */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void;
  /** Whether a single message fits the server's max_payload. */
  fits(headers: MsgHdrs, data: Uint8Array): boolean;
}

export class EventSender {
  /** By topic; the destination is the topic's subject. */
  private readonly batches: TurnBatcher<string>;

  constructor(
    private readonly link: EventLink,
    private readonly logger: Logger,
  ) {
    this.batches = new TurnBatcher(link.turn, () => link.entryLimit(), (subject, entries) => this.sendBatch(subject, entries));
  }

  /** Publishes an event of this host to the others (the caller checked the link is up). */
  publish(event: Event): void {
    const { payload, ...rest } = event;
    if (this.link.peersBatch()) {
      const entry = batchEntry({ event: rest }, payload);
      if (entryBound(entry) <= this.link.entryLimit()) this.batches.add(event.topic, () => this.link.subjects.topic(event.topic), entry);
      else this.tooLarge(event);
      return;
    }
    const h = waHeader(JSON.stringify({ v: PROTOCOL, from: this.link.self(), event: rest }));
    const data = encoder.encode(payload);
    if (this.link.fits(h, data)) this.link.publish(this.link.subjects.events, data, h);
    else this.tooLarge(event);
  }

  /** Sends the open batch now (closing). */
  flush(): void {
    this.batches.flush();
  }

  private sendBatch(subject: string, entries: BatchEntry[]): void {
    if (!this.link.linkUp()) return; // as for a single event: none is sent while the link is down
    this.link.publish(subject, encoder.encode(encodeBatch(JSON.stringify({ v: PROTOCOL, from: this.link.self() }), entries)), undefined);
  }

  private tooLarge(event: Event): void {
    this.logger.warn({ topic: event.topic, event: event.event, bytes: Buffer.byteLength(event.payload, 'utf8') }, 'event too large for the fleet transport: not sent to other hosts');
  }
}

/** The host and events a message carries: one event (the events subject) or a `batch` (a topic's subject), or undefined. */
export function receivedEvents(msg: Msg, batch: boolean): { from: HostRef; events: Event[]; refused: number } | undefined {
  const decoded = batch ? decodeBatch(decoder.decode(msg.data)) : undefined;
  const fields = batch ? decoded?.head : envelopeOf(msg);
  const from = fields?.['from'] as HostRef | undefined;
  if (!fields || fields['v'] !== PROTOCOL || typeof from !== 'object' || from === null || typeof from.host !== 'string') return undefined;
  const items = decoded ? decoded.items : [{ item: fields, payload: decoder.decode(msg.data) }];
  const events: Event[] = [];
  let refused = 0;
  for (const { item, payload } of items) {
    const event = item['event'] as Omit<Event, 'payload'> | undefined;
    if (typeof event === 'object' && event !== null) events.push({ ...event, payload });
    else refused += 1;
  }
  return { from, events, refused };
}
