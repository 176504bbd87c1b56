// Upper bounds of a message's protobuf size, so that a batch is split before gRPC would refuse it (docs/protocol.md).
import type { Command, Reply } from './types.js';

/** The message limit both ways (the router's default `limits.messageBytes`; the SDK's own limit). */
export const MESSAGE_BYTES = 4 * 1024 * 1024;

/** Bytes of a length varint. */
function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** A string field: tag, length, UTF-8 bytes (unless `exact`, short strings bounded by 3 bytes per UTF-16 unit, no scan). */
function stringField(text: string | undefined, exact = false): number {
  if (text === undefined) return 0;
  const bytes = text.length <= 256 && !exact ? text.length * 3 : Buffer.byteLength(text, 'utf8');
  return 1 + varintBytes(bytes) + bytes;
}

/** A message embedded as a field (a batch entry, a map entry): tag, length, body. */
export function embeddedBytes(bodyBytes: number): number {
  return 1 + varintBytes(bodyBytes) + bodyBytes;
}

/**
 * At least the encoded size of a Command (never less: a batch of these bounds is safe to write); `exact` counts every
 * string's UTF-8 bytes, for a command whose quick bound is over a limit (then it is within a few bytes).
 */
export function commandBytes(c: Partial<Command>, exact = false): number {
  let bytes = stringField(c.uuid, exact) + stringField(c.command, exact) + stringField(c.payload, exact) + 6
    + stringField(c.target, exact) + stringField(c.major, exact) + stringField(c.product, exact) + (c.generated_uuid === true ? 2 : 0);
  for (const [key, value] of Object.entries(c.context ?? {})) bytes += embeddedBytes(stringField(key, exact) + stringField(value, exact));
  return bytes;
}

/** At least the encoded size of a Reply; `exact` as for commandBytes. */
export function replyBytes(r: Partial<Reply>, exact = false): number {
  return stringField(r.uuid, exact) + 2 + stringField(r.payload, exact) + stringField(r.error, exact) + stringField(r.worker, exact);
}

/**
 * Items in order, cut into batches whose entries (`entryBytes` each, the field wrapper included) add up to at most
 * `limit`: what one message of repeated items may carry. An item over the limit on its own is the caller's to refuse.
 */
export function packBatches<T>(items: readonly T[], entryBytes: (item: T) => number, limit: number): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const entry = entryBytes(item);
    if (batch.length > 0 && bytes + entry > limit) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += entry;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
