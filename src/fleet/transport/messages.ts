// The JSON messages hosts exchange over NATS, each with its protocol version `v` (docs/fleet.md).
import type { Command, Event, Reply } from '../../proto/types.js';
import { PROTOCOL } from './subjects.js';

/** Which host incarnation sent something. */
export interface HostRef {
  host: string;
  incarnation: string;
}

/** A command for a worker of the receiving host. */
export interface CommandMessage {
  v: number;
  id: string;
  from: HostRef;
  /** Epoch ms after which the command must not start. */
  deadlineAt: number;
  command: Command;
  /** HMAC of the admin token over the command, for a forwarded ADMIN_* (see proof.ts). */
  proof?: string;
}

/** The answer to one CommandMessage: the reply, or "bounce" (nothing here can take it: send it elsewhere). */
export interface AnswerMessage {
  v: number;
  id: string;
  from: HostRef;
  kind: 'reply' | 'bounce';
  reply?: Reply;
  reason?: string;
}

export interface EventMessage {
  v: number;
  from: HostRef;
  event: Event;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encode(message: CommandMessage | AnswerMessage | EventMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** Parsed message, or a reason it is refused (not JSON, another protocol version, wrong shape). */
export function decode<T extends { v: number }>(data: Uint8Array, check: (value: Record<string, unknown>) => boolean): { ok: T } | { refused: string } {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    return { refused: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { refused: 'not an object' };
  const record = value as Record<string, unknown>;
  if (record['v'] !== PROTOCOL) return { refused: `protocol version ${String(record['v'])} (this host speaks ${PROTOCOL})` };
  if (!check(record)) return { refused: 'wrong shape' };
  return { ok: record as unknown as T };
}

const isHostRef = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as HostRef).host === 'string' && typeof (v as HostRef).incarnation === 'string';

export const isCommandMessage = (r: Record<string, unknown>): boolean =>
  typeof r['id'] === 'string' && isHostRef(r['from']) && typeof r['deadlineAt'] === 'number' && typeof r['command'] === 'object' && r['command'] !== null;

export const isAnswerMessage = (r: Record<string, unknown>): boolean =>
  typeof r['id'] === 'string' && isHostRef(r['from']) && (r['kind'] === 'reply' || r['kind'] === 'bounce');

export const isEventMessage = (r: Record<string, unknown>): boolean => isHostRef(r['from']) && typeof r['event'] === 'object' && r['event'] !== null;
