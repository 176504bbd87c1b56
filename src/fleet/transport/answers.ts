// The answers a host sends back for commands of other hosts: alone to a requester that sent its command alone, in one
// batch per requester and turn of the event loop otherwise; kept in an outbox while the NATS link is down. And what an
// answer message received carries.
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import type { Reply } from '../../proto/types.js';
import { batchEntry, decodeBatch, encodeBatch, entryBound, type BatchEntry } from './batch-codec.js';
import { answerFields, answerOf, envelopeOf, waHeader, type Answer, type CommandEnvelope, type HostRef } from './envelope.js';
import { PROTOCOL } from './subjects.js';
import { TurnBatcher, type Turn } from './turn-batcher.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The end of the subject of a batch of answers (after the requester's inbox). */
const ANSWER_BATCH = '.batch.answers';
/** Answers kept while disconnected, sent again after the reconnect (nats.js discards what it buffered). */
const OUTBOX_LIMIT = 10_000;

/** What the answers need of the transport. */
interface AnswerLink {
  /** Shared by the transport's batchers: what they gather leaves together. */
  readonly turn: Turn;
  linkUp(): boolean;
  /** The server's max_payload, and the bytes a batch's entries may take of it. */
  limits(): { maxPayload: number; entries: number };
  self(): HostRef;
  /** Publishes now (a failure is logged). */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs | undefined): void;
  /** Whether a single message fits the server's max_payload. */
  fits(headers: MsgHdrs, data: Uint8Array): boolean;
  now(): number;
}

export class AnswerSender {
  private outbox: Array<{ subject: string; headers: MsgHdrs | undefined; data: Uint8Array; until: number }> = [];
  /** By the requester's inbox; `until`: the latest deadline of its answers (kept that long while disconnected). */
  private readonly batches: TurnBatcher<{ subject: string; until: number }>;

  constructor(private readonly link: AnswerLink) {
    this.batches = new TurnBatcher(link.turn, () => link.limits().entries, (to, entries) => this.sendBatch(to.subject, entries, to.until));
  }

  /** An answer alone, to `subject` (the reply subject of a command that came alone). */
  alone(subject: string, envelope: CommandEnvelope, answer: Answer): void {
    const payload = answer.kind === 'reply' ? answer.reply.payload : '';
    const h = waHeader(JSON.stringify({ v: PROTOCOL, from: this.link.self(), ...answerFields(envelope.id, answer) }));
    const data = encoder.encode(payload);
    if (!this.link.fits(h, data) && answer.kind === 'reply') {
      this.alone(subject, envelope, { kind: 'reply', reply: this.tooLarge(answer.reply) });
      return;
    }
    this.publish(subject, h, data, this.link.now() + envelope.ttlMs);
  }

  /** An answer in this turn's batch for the requester's `inbox` (the base of the reply subject of its batch). */
  batched(inbox: string, envelope: CommandEnvelope, answer: Answer): void {
    let entry = batchEntry(answerFields(envelope.id, answer), answer.kind === 'reply' ? answer.reply.payload : '');
    if (entryBound(entry) > this.link.limits().entries && answer.kind === 'reply') {
      entry = batchEntry(answerFields(envelope.id, { kind: 'reply', reply: this.tooLarge(answer.reply) }), '');
    }
    const to = this.batches.add(inbox, () => ({ subject: `${inbox}${ANSWER_BATCH}`, until: 0 }), entry);
    to.until = Math.max(to.until, this.link.now() + envelope.ttlMs);
  }

  /** Sends the open batches now (closing). */
  flush(): void {
    this.batches.flush();
  }

  /** The link is back: what waited in the outbox and is still wanted goes now. */
  reconnected(): void {
    const now = this.link.now();
    const kept = this.outbox;
    this.outbox = [];
    for (const item of kept) if (item.until > now) this.link.publish(item.subject, item.data, item.headers);
  }

  private sendBatch(subject: string, entries: BatchEntry[], until: number): void {
    const body = encodeBatch(JSON.stringify({ v: PROTOCOL, from: this.link.self() }), entries);
    this.publish(subject, undefined, encoder.encode(body), until);
  }

  private tooLarge(reply: Reply): Reply {
    const bytes = Buffer.byteLength(reply.payload, 'utf8');
    return { ...reply, status: 'FAIL', payload: '', error: `PAYLOAD_TOO_LARGE: the reply is ${bytes} bytes: more than the fleet transport carries (max_payload ${this.link.limits().maxPayload})` };
  }

  private publish(subject: string, headers: MsgHdrs | undefined, data: Uint8Array, until: number): void {
    if (!this.link.linkUp()) {
      if (this.outbox.length < OUTBOX_LIMIT) this.outbox.push({ subject, headers, data, until });
      return;
    }
    this.link.publish(subject, data, headers);
  }
}

/** The answers an answer message carries, by command id (`id`: the last token of its subject, for a single one). */
export function receivedAnswers(msg: Msg, id: string): { answers: Array<[string, Answer]>; refused: number } {
  const answers: Array<[string, Answer]> = [];
  if (!msg.subject.endsWith(ANSWER_BATCH)) {
    const envelope = envelopeOf(msg);
    const answer = envelope?.['v'] === PROTOCOL ? answerOf(envelope, decoder.decode(msg.data)) : undefined;
    if (answer) answers.push([id, answer]);
    return { answers, refused: answer ? 0 : 1 };
  }
  const batch = decodeBatch(decoder.decode(msg.data));
  if (batch?.head['v'] !== PROTOCOL) return { answers, refused: 1 };
  let refused = 0;
  for (const { item, payload } of batch.items) {
    const answer = answerOf(item, payload);
    if (answer && typeof item['id'] === 'string') answers.push([item['id'], answer]);
    else refused += 1;
  }
  return { answers, refused };
}
