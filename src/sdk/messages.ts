// Conversions between proto messages (JSON text payloads) and the SDK's parsed shapes.
import type { Event, Reply } from '../proto/types.js';
import type { EventMessage, ReplyResult } from './types.js';

/** The largest payload the SDK sends: gRPC refuses messages over 4 MiB, keep room for the envelope. */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024 - 16 * 1024;

/** JSON text parsed, or null when empty or not JSON (the raw text is kept alongside). */
export function parseJsonOrNull(text: string | undefined): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** JSON text of a value (undefined → null); throws when it cannot be serialised or is too big. */
export function toJsonText(value: unknown, what: string): string {
  const text = JSON.stringify(value ?? null) as string | undefined;
  if (text === undefined) throw new Error(`${what} cannot be serialised to JSON`);
  if (3 * text.length <= MAX_PAYLOAD_BYTES) return text; // at most 3 UTF-8 bytes per UTF-16 unit: no need to count
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_PAYLOAD_BYTES) throw new Error(`${what} is ${bytes} bytes of JSON, over the ${MAX_PAYLOAD_BYTES}-byte limit of a message`);
  return text;
}

/** A proto Event as the SDK hands it out. */
export function toEventMessage(e: Partial<Event>): EventMessage {
  return {
    uuid: e.uuid ?? '',
    topic: e.topic ?? '',
    event: e.event ?? '',
    payload: parseJsonOrNull(e.payload),
    referenceUuid: e.reference_uuid ?? '',
    timestampMs: Number(e.timestamp_ms ?? 0),
    source: e.source ?? '',
    rawPayload: e.payload ?? '',
  };
}

/** A proto Reply with its payload parsed. */
export function toReplyResult(r: Reply): ReplyResult {
  return { uuid: r.uuid, status: r.status, payload: parseJsonOrNull(r.payload), error: r.error, worker: r.worker, rawPayload: r.payload };
}
