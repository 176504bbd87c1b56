// What travels with a command, an answer or an event between hosts besides its payload (docs/fleet.md, NATS subjects),
// and how a single message carries it: as JSON in the `wa` header.
import { headers, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import type { Command, Reply } from '../../proto/types.js';

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

/** The `wa` header of a message as an object, or undefined when absent or not one. */
export function envelopeOf(msg: Msg): Record<string, unknown> | undefined {
  const text = msg.headers?.get('wa');
  if (!text) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Headers with `wa` set to `text` (an envelope's JSON, or the batch marker). */
export function waHeader(text: string): MsgHdrs {
  const h = headers();
  h.set('wa', text);
  return h;
}

/** True when the fields of a command's envelope have the types a host relies on (the rest is the router's to check). */
export function isCommandEnvelope(value: Partial<CommandEnvelope> | undefined): value is CommandEnvelope {
  return value !== undefined && typeof value.id === 'string' && typeof value.command === 'object' && value.command !== null && typeof value.ttlMs === 'number';
}

/** The answer an answer message's fields describe (payload from the body), or undefined when malformed. */
export function answerOf(fields: Record<string, unknown>, payload: string): Answer | undefined {
  if (fields['kind'] === 'bounce') return { kind: 'bounce', reason: typeof fields['reason'] === 'string' ? fields['reason'] : '' };
  const reply = fields['reply'] as Omit<Reply, 'payload'> | undefined;
  if (fields['kind'] !== 'reply' || typeof reply !== 'object' || reply === null) return undefined;
  return { kind: 'reply', reply: { uuid: reply.uuid, status: reply.status, error: reply.error, worker: reply.worker, payload } };
}

/** An answer's fields as they travel: the reply without its payload (that is the body). */
export function answerFields(id: string, answer: Answer): Record<string, unknown> {
  return answer.kind === 'reply'
    ? { id, kind: 'reply', reply: { uuid: answer.reply.uuid, status: answer.reply.status, error: answer.reply.error, worker: answer.reply.worker } }
    : { id, kind: 'bounce', reason: answer.reason };
}
