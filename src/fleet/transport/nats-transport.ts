// Commands, answers, events and heartbeats between hosts over one NATS connection (docs/fleet.md, NATS subjects).
// The envelope travels as JSON in the `wa` header; the body is the payload's bytes as the client sent them.
import { headers, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { WorkerAdminError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Command, Event, Reply } from '../../proto/types.js';
import { MIN_MAX_PAYLOAD } from '../engines/nats.js';
import { PROTOCOL, subjects, type Subjects } from './subjects.js';

export interface HostRef {
  host: string;
  incarnation: string;
}

/** A command's envelope: everything but the payload (the body). */
export interface CommandEnvelope {
  v: number;
  id: string;
  from: HostRef;
  to: HostRef;
  /** Time left before the command's deadline when it was sent. */
  ttlMs: number;
  command: Omit<Command, 'payload'>;
  proof?: string;
}

export type Answer = { kind: 'reply'; reply: Reply } | { kind: 'bounce'; reason: string };

interface TransportHandlers {
  /** A command for this host; `answer` sends the one answer back. */
  command(envelope: CommandEnvelope, payload: string, answer: (answer: Answer) => void): void;
  /** The answer to command `id` sent by this process (undefined: "no responders"). */
  answer(id: string, answer: Answer | undefined): void;
  event(from: HostRef, event: Event): void;
  heartbeat(from: HostRef): void;
  /** This host's NATS link went down (true) or came back (false). */
  link(up: boolean): void;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** Answers kept while disconnected, sent again after the reconnect (nats.js discards what it buffered). */
const OUTBOX_LIMIT = 10_000;

function envelopeOf(msg: Msg): Record<string, unknown> | undefined {
  const text = msg.headers?.get('wa');
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function withEnvelope(envelope: object): MsgHdrs {
  const h = headers();
  h.set('wa', JSON.stringify(envelope));
  return h;
}

export class NatsTransport {
  readonly subjects: Subjects;
  /** Messages of another protocol version or shape, ignored. */
  refused = 0;
  private readonly subscriptions: Subscription[] = [];
  private connected = true;
  private outbox: Array<{ subject: string; headers: MsgHdrs; data: Uint8Array; until: number }> = [];
  private maxPayload: number;
  private commandSub: Subscription | undefined;

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
  }

  /** Subscribes to this host's subjects and waits until the server has the interest (flush). */
  async start(handlers: TransportHandlers): Promise<void> {
    const { host } = this.self();
    this.commandSub = this.nc.subscribe(this.subjects.commands(host), { callback: (_e, msg) => this.onCommand(msg, handlers) });
    this.subscriptions.push(
      this.commandSub,
      this.nc.subscribe(`${this.subjects.inboxBase(host, this.inbox)}.>`, { callback: (_e, msg) => this.onAnswer(msg, handlers) }),
      this.nc.subscribe(this.subjects.events, { callback: (_e, msg) => this.onEvent(msg, handlers) }),
      this.nc.subscribe(this.subjects.heartbeat, { callback: (_e, msg) => this.onHeartbeat(msg, handlers) }),
    );
    await this.nc.flush();
    void this.followStatus(handlers);
  }

  get linkUp(): boolean {
    return this.connected;
  }

  /** Sends a command to `to`; throws PAYLOAD_TOO_LARGE when the message is over the server's max_payload. */
  sendCommand(to: HostRef & { inbox: string }, envelope: Omit<CommandEnvelope, 'v' | 'from' | 'to'>, payload: string): void {
    const from = this.self();
    const full: CommandEnvelope = { v: PROTOCOL, ...envelope, from, to: { host: to.host, incarnation: to.incarnation } };
    const h = withEnvelope(full);
    const data = encoder.encode(payload);
    this.checkSize(h, data, `command ${envelope.command.command}`);
    this.nc.publish(this.subjects.commands(to.host), data, { headers: h, reply: `${this.subjects.inboxBase(from.host, this.inbox)}.${envelope.id}` });
  }

  /** Publishes an event of this host to the others. */
  publishEvent(event: Event): void {
    const { payload, ...rest } = event;
    const h = withEnvelope({ v: PROTOCOL, from: this.self(), event: rest });
    const data = encoder.encode(payload);
    if (!this.fits(h, data)) {
      this.logger.warn({ topic: event.topic, event: event.event, bytes: data.length }, 'event too large for the fleet transport: not sent to other hosts');
      return;
    }
    this.nc.publish(this.subjects.events, data, { headers: h });
  }

  heartbeat(): void {
    if (this.connected) this.nc.publish(this.subjects.heartbeat, encoder.encode(JSON.stringify({ v: PROTOCOL, from: this.self() })));
  }

  /** Stops taking commands (a leaving host): late senders get "no responders" and send elsewhere. */
  async stopCommands(): Promise<void> {
    this.commandSub?.unsubscribe();
    await this.nc.flush().catch(() => undefined);
  }

  async close(): Promise<void> {
    for (const sub of this.subscriptions) sub.unsubscribe();
    await this.nc.drain().catch(() => this.nc.close());
  }

  private checkSize(h: MsgHdrs, data: Uint8Array, what: string): void {
    if (!this.fits(h, data)) {
      throw new WorkerAdminError('PAYLOAD_TOO_LARGE', `${what} is ${data.length} bytes: more than the fleet transport carries (the NATS server's max_payload is ${this.maxPayload})`);
    }
  }

  private fits(h: MsgHdrs, data: Uint8Array): boolean {
    const headerBytes = (h.get('wa')?.length ?? 0) + 64;
    return data.length + headerBytes <= this.maxPayload;
  }

  private onCommand(msg: Msg, handlers: TransportHandlers): void {
    const envelope = envelopeOf(msg) as CommandEnvelope | undefined;
    const reply = msg.reply;
    if (!envelope || !reply || typeof envelope.id !== 'string' || typeof envelope.command !== 'object' || typeof envelope.ttlMs !== 'number') {
      this.refused += 1;
      return;
    }
    const answer = (a: Answer): void => this.sendAnswer(reply, envelope, a);
    if (envelope.v !== PROTOCOL) {
      this.refused += 1;
      answer({ kind: 'bounce', reason: `protocol version ${String(envelope.v)} is not ${PROTOCOL}` });
      return;
    }
    handlers.command(envelope, decoder.decode(msg.data), answer);
  }

  private sendAnswer(subject: string, envelope: CommandEnvelope, answer: Answer): void {
    const payload = answer.kind === 'reply' ? answer.reply.payload : '';
    const body = answer.kind === 'reply' ? { v: PROTOCOL, id: envelope.id, from: this.self(), kind: 'reply', reply: { ...answer.reply, payload: undefined } } : { v: PROTOCOL, id: envelope.id, from: this.self(), kind: 'bounce', reason: answer.reason };
    const h = withEnvelope(body);
    let data = encoder.encode(payload);
    if (!this.fits(h, data) && answer.kind === 'reply') {
      const tooLarge: Reply = { ...answer.reply, status: 'FAIL', payload: '', error: `PAYLOAD_TOO_LARGE: the reply is ${data.length} bytes: more than the fleet transport carries (max_payload ${this.maxPayload})` };
      return this.sendAnswer(subject, envelope, { kind: 'reply', reply: tooLarge });
    }
    if (!this.connected) {
      if (this.outbox.length < OUTBOX_LIMIT) this.outbox.push({ subject, headers: h, data, until: this.now() + envelope.ttlMs });
      return;
    }
    this.nc.publish(subject, data, { headers: h });
    data = new Uint8Array();
  }

  private onAnswer(msg: Msg, handlers: TransportHandlers): void {
    const id = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    if (msg.headers?.hasError && msg.headers.code === 503) {
      handlers.answer(id, undefined);
      return;
    }
    const envelope = envelopeOf(msg);
    if (!envelope || envelope['v'] !== PROTOCOL) {
      this.refused += 1;
      return;
    }
    if (envelope['kind'] === 'bounce') {
      handlers.answer(id, { kind: 'bounce', reason: typeof envelope['reason'] === 'string' ? envelope['reason'] : '' });
      return;
    }
    const reply = envelope['reply'] as Omit<Reply, 'payload'> | undefined;
    if (envelope['kind'] !== 'reply' || typeof reply !== 'object' || reply === null) {
      this.refused += 1;
      return;
    }
    handlers.answer(id, { kind: 'reply', reply: { uuid: reply.uuid, status: reply.status, error: reply.error, worker: reply.worker, payload: decoder.decode(msg.data) } });
  }

  private onEvent(msg: Msg, handlers: TransportHandlers): void {
    const envelope = envelopeOf(msg);
    const from = envelope?.['from'] as HostRef | undefined;
    const event = envelope?.['event'] as Omit<Event, 'payload'> | undefined;
    if (!envelope || envelope['v'] !== PROTOCOL || !from || typeof from.host !== 'string' || typeof event !== 'object' || event === null) {
      this.refused += 1;
      return;
    }
    if (from.host === this.self().host) return;
    handlers.event(from, { ...event, payload: decoder.decode(msg.data) });
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
        this.flushOutbox();
        handlers.link(true);
      }
    }
  }

  private flushOutbox(): void {
    const now = this.now();
    const kept = this.outbox;
    this.outbox = [];
    for (const item of kept) if (item.until > now) this.nc.publish(item.subject, item.data, { headers: item.headers });
  }
}
