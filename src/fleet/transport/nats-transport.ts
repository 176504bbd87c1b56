// Commands, answers, events and heartbeats between hosts over one NATS connection (docs/fleet.md, NATS subjects).
// A single message carries its envelope as JSON in the `wa` header and the payload as its body. To hosts whose record
// says `batching`, what one turn of the event loop sends to the same place leaves as one batch message (batch-codec.ts).
import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { WorkerAdminError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Event } from '../../proto/types.js';
import type { EventInterest } from '../../router/events-hub.js';
import { MIN_MAX_PAYLOAD } from '../engines/nats.js';
import { batchEntry, decodeBatch, encodeBatch, entryBound, type BatchEntry } from './batch-codec.js';
import { envelopeOf, isCommandEnvelope, waHeader, type Answer, type CommandEnvelope, type HostRef } from './envelope.js';
import { PROTOCOL, subjects, type Subjects } from './subjects.js';
import { Turn, TurnBatcher } from './turn-batcher.js';
import { AnswerSender, receivedAnswers } from './answers.js';
import { EventSender, receivedEvents } from './events.js';
import { TopicSubscriptions } from './topic-subscriptions.js';

interface TransportHandlers {
  /** A command for this host; `answer` sends the one answer back. */
  /** `batched`: it came with others in one message (it may reach its worker with them); alone, it leaves at once. */
  command(envelope: CommandEnvelope, payload: string, answer: (answer: Answer) => void, batched: boolean): void;
  /** The answer to command `id` sent by this process (undefined: "no responders"). */
  answer(id: string, answer: Answer | undefined): void;
  event(from: HostRef, event: Event): void;
  heartbeat(from: HostRef): void;
  /** This host's NATS link went down (true) or came back (false). */
  link(up: boolean): void;
}

/** Where a command goes: a host's incarnation, and whether it takes batch messages. */
interface Destination extends HostRef {
  batching: boolean;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** Bytes of max_payload left for a message's headers and a batch's head. */
const HEAD_ROOM = 4096;
/** How long a command batch's ids are kept for a "no responders" (the server sends it when the batch is published). */
const SENT_BATCH_MS = 10_000;
/** How long a new watch waits at most for nats-server to confirm its host's new topic subscriptions. */
const FOLLOW_MS = 2000;

export class NatsTransport {
  readonly subjects: Subjects;
  /** Messages of another protocol version or shape, ignored. */
  refused = 0;
  private readonly subscriptions: Subscription[] = [];
  private connected = true;
  private maxPayload: number;
  /** Commands one each and in batches: unsubscribed when the host leaves. */
  private commandSubs: Subscription[] = [];
  private readonly commandBatches: TurnBatcher<HostRef>;
  private readonly answers: AnswerSender;
  private readonly events: EventSender;
  private topics: TopicSubscriptions | undefined;
  /** Command batches sent, by the last token of their reply subject: their message ids, for a "no responders". */
  private readonly sentBatches = new Map<string, { ids: string[]; at: number }>();
  private batchSeq = 0;
  /** Events go in batches only when every other host takes them. */
  private peersBatch: () => boolean = () => false;
  private handlers: TransportHandlers | undefined;
  private inboxSubject: string | undefined;

  constructor(
    private readonly nc: NatsConnection,
    prefix: string,
    private readonly self: () => HostRef,
    /** Random per process: answers reach this process whatever its incarnation. */
    readonly inbox: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.subjects = subjects(prefix);
    this.maxPayload = nc.info?.max_payload ?? MIN_MAX_PAYLOAD;
    const limit = (): number => this.maxPayload - HEAD_ROOM;
    const turn = new Turn();
    this.commandBatches = new TurnBatcher(turn, limit, (to, entries) => this.sendCommandBatch(to, entries));
    this.answers = new AnswerSender({
      turn,
      linkUp: () => this.connected,
      limits: () => ({ maxPayload: this.maxPayload, entries: limit() }),
      self: () => this.self(),
      publish: (subject, data, headers) => void this.publishLater(subject, data, { headers }),
      fits: (h, data) => this.fits(h, data),
      now: () => this.now(),
    });
    this.events = new EventSender({
      turn,
      linkUp: () => this.connected,
      entryLimit: limit,
      self: () => this.self(),
      peersBatch: () => this.peersBatch(),
      subjects: this.subjects,
      publish: (subject, data, headers) => void this.publishLater(subject, data, { headers }),
      fits: (h, data) => this.fits(h, data),
    }, logger);
  }

  /** Subscribes to this host's subjects and waits until the server has the interest (flush). */
  async start(handlers: TransportHandlers): Promise<void> {
    const { host } = this.self();
    this.handlers = handlers;
    this.commandSubs = [
      this.nc.subscribe(this.subjects.commands(host), { callback: (_e, msg) => this.onCommand(msg, handlers) }),
      this.nc.subscribe(this.subjects.commandBatches(host), { callback: (_e, msg) => this.onCommandBatch(msg, handlers) }),
    ];
    this.subscriptions.push(
      ...this.commandSubs,
      this.nc.subscribe(`${this.ownInbox()}.>`, { callback: (_e, msg) => this.onAnswer(msg, handlers) }),
      this.nc.subscribe(this.subjects.events, { callback: (_e, msg) => this.onEvent(msg, false, handlers) }),
      this.nc.subscribe(this.subjects.heartbeat, { callback: (_e, msg) => this.onHeartbeat(msg, handlers) }),
    );
    this.topics = new TopicSubscriptions(this.nc, this.subjects, (msg) => this.onEvent(msg, true, handlers), this.now);
    await this.nc.flush();
    void this.followStatus(handlers);
  }

  get linkUp(): boolean {
    return this.connected;
  }

  /**
   * Subscribes to the event topics this host wants from the others now (and to no other). Resolves once nats-server
   * has the new subscriptions (a flush), at once when there are none or the link is down, and at most FOLLOW_MS later
   * whatever the server does: a watch waits for it before it says it is registered (docs/fleet.md, events).
   */
  followTopics(interest: EventInterest): Promise<void> {
    if (!this.topics?.follow(interest) || !this.connected) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, FOLLOW_MS)));
    return Promise.race([this.nc.flush().catch(() => undefined), bound]).finally(() => clearTimeout(timer));
  }

  /** Events are batched from now on while `check()` says every other host takes batches. */
  batchEventsWhen(check: () => boolean): void {
    this.peersBatch = check;
  }

  /** Sends a command to `to`; throws PAYLOAD_TOO_LARGE when the message is over the server's max_payload. */
  sendCommand(to: Destination, envelope: Omit<CommandEnvelope, 'v' | 'from' | 'to'>, payload: string): void {
    const what = `command ${envelope.command.command}`;
    if (to.batching) {
      const entry = batchEntry(envelope, payload, envelope.id);
      if (entryBound(entry) > this.maxPayload - HEAD_ROOM) this.tooLarge(what, payload);
      this.commandBatches.add(`${to.host}/${to.incarnation}`, () => ({ host: to.host, incarnation: to.incarnation }), entry);
      return;
    }
    const from = this.self();
    const h = waHeader(JSON.stringify({ v: PROTOCOL, ...envelope, from, to: { host: to.host, incarnation: to.incarnation } }));
    const data = encoder.encode(payload);
    if (!this.fits(h, data)) this.tooLarge(what, payload);
    this.nc.publish(this.subjects.commands(to.host), data, { headers: h, reply: `${this.ownInbox()}.${envelope.id}` });
  }

  /** Publishes an event of this host to the others. */
  publishEvent(event: Event): void {
    this.events.publish(event);
  }

  heartbeat(): void {
    if (this.connected) this.nc.publish(this.subjects.heartbeat, encoder.encode(JSON.stringify({ v: PROTOCOL, from: this.self() })));
  }

  /** Stops taking commands (a leaving host): late senders get "no responders" and send elsewhere. */
  async stopCommands(): Promise<void> {
    for (const sub of this.commandSubs) sub.unsubscribe();
    await this.nc.flush().catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const batcher of [this.commandBatches, this.answers, this.events]) batcher.flush();
    for (const sub of this.subscriptions) sub.unsubscribe();
    this.topics?.close();
    await this.nc.drain().catch(() => this.nc.close());
  }

  private ownInbox(): string {
    return (this.inboxSubject ??= this.subjects.inboxBase(this.self().host, this.inbox));
  }

  /** Publishes from a batch flush (after this turn): an error here would be nobody's to catch. */
  private publishLater(subject: string, data: Uint8Array, options: { headers?: MsgHdrs | undefined; reply?: string }): boolean {
    try {
      this.nc.publish(subject, data, options.headers === undefined ? (options.reply === undefined ? undefined : { reply: options.reply }) : options);
      return true;
    } catch (error) {
      this.logger.warn({ err: error, subject }, 'fleet batch not published');
      return false;
    }
  }

  private tooLarge(what: string, payload: string): never {
    const bytes = Buffer.byteLength(payload, 'utf8');
    throw new WorkerAdminError('PAYLOAD_TOO_LARGE', `${what} is ${bytes} bytes: more than the fleet transport carries (the NATS server's max_payload is ${this.maxPayload})`);
  }

  private fits(h: MsgHdrs, data: Uint8Array): boolean {
    const headerBytes = (h.get('wa')?.length ?? 0) + 64;
    return data.length + headerBytes <= this.maxPayload;
  }

  private sendCommandBatch(to: HostRef, entries: BatchEntry[]): void {
    const now = this.now();
    // a "no responders" comes when the batch is published: older entries only wait for nothing
    for (const [seq, sent] of this.sentBatches) {
      if (sent.at > now - SENT_BATCH_MS) break;
      this.sentBatches.delete(seq);
    }
    const seq = String((this.batchSeq += 1));
    const ids = entries.map((e) => e.id ?? '');
    this.sentBatches.set(seq, { ids, at: now });
    const body = encodeBatch(JSON.stringify({ v: PROTOCOL, from: this.self(), to }), entries);
    if (this.publishLater(this.subjects.commandBatches(to.host), encoder.encode(body), { reply: `${this.ownInbox()}.batch.${seq}` })) return;
    // not sent, so never run: as a "no responders", each goes elsewhere
    this.sentBatches.delete(seq);
    for (const id of ids) this.handlers?.answer(id, undefined);
  }

  private onCommand(msg: Msg, handlers: TransportHandlers): void {
    const envelope = envelopeOf(msg);
    const reply = msg.reply;
    if (!envelope || !reply) {
      this.refused += 1;
      return;
    }
    this.takeCommand(envelope as Partial<CommandEnvelope>, decoder.decode(msg.data), (a) => this.answers.alone(reply, envelope as unknown as CommandEnvelope, a), handlers, false);
  }

  /** Every command of a batch, its answer batched back to the requester's inbox. */
  private onCommandBatch(msg: Msg, handlers: TransportHandlers): void {
    const batch = decodeBatch(decoder.decode(msg.data));
    const cut = msg.reply?.lastIndexOf('.batch.') ?? -1;
    if (!batch || cut < 0) {
      this.refused += 1;
      return;
    }
    const inbox = msg.reply!.slice(0, cut);
    const { v, from, to } = batch.head as Partial<CommandEnvelope>;
    const batched = batch.items.length > 1;
    for (const { item, payload } of batch.items) {
      const { id, ttlMs, command, proof } = item as Partial<CommandEnvelope>;
      const envelope = { v, id, from, to, ttlMs, command, proof } as Partial<CommandEnvelope>;
      this.takeCommand(envelope, payload, (a) => this.answers.batched(inbox, envelope as CommandEnvelope, a), handlers, batched);
    }
  }

  private takeCommand(envelope: Partial<CommandEnvelope>, payload: string, answer: (answer: Answer) => void, handlers: TransportHandlers, batched: boolean): void {
    if (!isCommandEnvelope(envelope) || typeof envelope.to !== 'object' || envelope.to === null) {
      this.refused += 1;
      return;
    }
    if (envelope.v !== PROTOCOL) {
      this.refused += 1;
      answer({ kind: 'bounce', reason: `protocol version ${String(envelope.v)} is not ${PROTOCOL}` });
      return;
    }
    handlers.command(envelope, payload, answer, batched);
  }

  private onAnswer(msg: Msg, handlers: TransportHandlers): void {
    const last = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    if (msg.headers?.hasError && msg.headers.code === 503) {
      const batch = msg.subject.endsWith(`.batch.${last}`) ? this.sentBatches.get(last) : undefined;
      this.sentBatches.delete(last);
      for (const id of batch ? batch.ids : [last]) handlers.answer(id, undefined);
      return;
    }
    const received = receivedAnswers(msg, last);
    this.refused += received.refused;
    for (const [id, answer] of received.answers) handlers.answer(id, answer);
  }

  private onEvent(msg: Msg, batch: boolean, handlers: TransportHandlers): void {
    const received = receivedEvents(msg, batch);
    if (!received) {
      this.refused += 1;
      return;
    }
    this.refused += received.refused;
    if (received.from.host === this.self().host) return;
    for (const event of received.events) if (!this.topics?.duplicate(event)) handlers.event(received.from, event);
  }

  private onHeartbeat(msg: Msg, handlers: TransportHandlers): void {
    try {
      const value = JSON.parse(decoder.decode(msg.data)) as { v?: number; from?: HostRef };
      if (value.v === PROTOCOL && value.from && typeof value.from.host === 'string' && typeof value.from.incarnation === 'string') handlers.heartbeat(value.from);
    } catch {
      this.refused += 1;
    }
  }

  private async followStatus(handlers: TransportHandlers): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.logger.warn({ server: status.server }, 'fleet transport disconnected from NATS');
        handlers.link(false);
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.maxPayload = this.nc.info?.max_payload ?? this.maxPayload;
        if (this.maxPayload < MIN_MAX_PAYLOAD) this.logger.error({ maxPayload: this.maxPayload }, 'the NATS server reconnected to allows messages below 4 MiB + envelope: large commands will be refused');
        this.logger.info({ server: status.server }, 'fleet transport reconnected to NATS');
        this.answers.reconnected();
        handlers.link(true);
      }
    }
  }
}
