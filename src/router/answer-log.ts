// The answered half of the replay window in compact form: uuid → a small integer; the reply and fingerprint as bytes.
// Per answer: the uuid string (the Map key), one Map entry, a few typed-array cells, and its encoded bytes in a chunk.
import type { Reply, Status } from '../proto/types.js';

/** Bytes of one chunk of encoded answers (a bigger answer gets a chunk of its own size). */
const CHUNK_BYTES = 64 * 1024;
/** Slots at first; the ring doubles when full. */
const FIRST_CAPACITY = 1024;
/** Map values are sequence numbers masked to a small integer (V8 keeps those unboxed); capacity stays below. */
const SEQ_MASK = 2 ** 30 - 1;

const STATUSES: readonly Status[] = ['STATUS_UNSPECIFIED', 'SUCCESS', 'FAIL', 'TIMEOUT', 'NO_WORKER', 'INVALID'];
/** Status byte and four u32 lengths: fingerprint, payload, error, worker. */
const HEADER_BYTES = 1 + 4 * 4;

/** Answers in answer order: appended at the back, dropped from the front. */
export class AnswerLog {
  private readonly index = new Map<string, number>();
  private capacity = FIRST_CAPACITY;
  /** Per slot: its uuid (the same string as the Map key), when it was answered, where its bytes are. */
  private uuids: string[] = new Array<string>(FIRST_CAPACITY).fill('');
  private ats = new Float64Array(FIRST_CAPACITY);
  private chunkOf = new Uint32Array(FIRST_CAPACITY);
  private offsets = new Uint32Array(FIRST_CAPACITY);
  private lengths = new Uint32Array(FIRST_CAPACITY);
  /** Sequence numbers of the oldest slot and of the next one. */
  private head = 0;
  private tail = 0;
  private readonly chunks: Buffer[] = [];
  /** Sequence number of chunks[0]. */
  private firstChunk = 0;
  /** Bytes used in the last chunk. */
  private fill = 0;
  /** Encoded bytes of the slots held. */
  private held = 0;

  /** Slots held (answers, and answers forgotten early that still wait for their turn at the front). */
  get slots(): number {
    return this.tail - this.head;
  }

  /** Answers a lookup can find. */
  get size(): number {
    return this.index.size;
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** The slot of `uuid`'s answer, or undefined. */
  find(uuid: string): number | undefined {
    return this.index.get(uuid);
  }

  /** When slot `slot` was answered. */
  answeredAt(slot: number): number {
    return this.ats[slot & (this.capacity - 1)] as number;
  }

  /** When the oldest slot was answered (undefined when empty). */
  oldestAt(): number | undefined {
    return this.head === this.tail ? undefined : this.answeredAt(this.head & SEQ_MASK);
  }

  /** The fingerprint recorded with slot `slot`. */
  fingerprint(slot: number): string {
    const { chunk, at } = this.locate(slot);
    const length = chunk.readUInt32LE(at + 1);
    return chunk.toString('utf8', at + HEADER_BYTES, at + HEADER_BYTES + length);
  }

  /** The Reply recorded with slot `slot` for `uuid`. */
  reply(slot: number, uuid: string): Reply {
    const { chunk, at } = this.locate(slot);
    const lengths = [chunk.readUInt32LE(at + 1), chunk.readUInt32LE(at + 5), chunk.readUInt32LE(at + 9), chunk.readUInt32LE(at + 13)] as const;
    let p = at + HEADER_BYTES + lengths[0];
    const text = (n: number): string => chunk.toString('utf8', p, (p += n));
    const payload = text(lengths[1]);
    const error = text(lengths[2]);
    const worker = text(lengths[3]);
    return { uuid, status: STATUSES[chunk[at] as number] ?? 'STATUS_UNSPECIFIED', payload, error, worker };
  }

  /** Records `reply` to `uuid` (fingerprint `fingerprint`) answered at `at`. */
  append(uuid: string, fingerprint: string, reply: Reply, at: number): void {
    if (this.slots === this.capacity) this.grow();
    const bound = HEADER_BYTES + 3 * (fingerprint.length + reply.payload.length + reply.error.length + reply.worker.length);
    const room = (this.chunks.at(-1)?.length ?? 0) - this.fill;
    if (bound > room) this.newChunk(bound <= CHUNK_BYTES ? CHUNK_BYTES : this.exactSize(fingerprint, reply));
    const chunk = this.chunks.at(-1) as Buffer;
    const start = this.fill;
    chunk[start] = Math.max(0, STATUSES.indexOf(reply.status));
    let p = start + HEADER_BYTES;
    const put = (text: string, lengthAt: number): void => {
      const n = text === '' ? 0 : chunk.write(text, p, 'utf8');
      chunk.writeUInt32LE(n, lengthAt);
      p += n;
    };
    put(fingerprint, start + 1);
    put(reply.payload, start + 5);
    put(reply.error, start + 9);
    put(reply.worker, start + 13);
    this.fill = p;
    const i = this.tail & (this.capacity - 1);
    // a concatenated string (randomUUID's) stays a tree of pieces until a character is read: reading one flattens it
    // (~500 → ~90 bytes per key)
    uuid.charCodeAt(0);
    this.uuids[i] = uuid;
    this.ats[i] = at;
    this.chunkOf[i] = this.firstChunk + this.chunks.length - 1;
    this.offsets[i] = start;
    this.lengths[i] = p - start;
    this.held += p - start;
    this.index.set(uuid, this.tail & SEQ_MASK);
    this.tail += 1;
  }

  /** Makes `uuid` unfindable now; its slot goes when it reaches the front. */
  forget(uuid: string): void {
    this.index.delete(uuid);
  }

  /** Drops the oldest slot (its uuid too, unless a newer answer of that uuid took the key). */
  dropOldest(): void {
    if (this.head === this.tail) return;
    const seq = this.head & SEQ_MASK;
    const i = this.head & (this.capacity - 1);
    const uuid = this.uuids[i] as string;
    if (this.index.get(uuid) === seq) this.index.delete(uuid);
    this.uuids[i] = '';
    this.held -= this.lengths[i] as number;
    this.head += 1;
    // chunks before the new oldest slot's hold nothing live (none do once the log is empty)
    const keepFrom = this.head === this.tail ? this.firstChunk + this.chunks.length : (this.chunkOf[this.head & (this.capacity - 1)] as number);
    if (this.head === this.tail) this.fill = 0;
    while (this.firstChunk < keepFrom) {
      this.chunks.shift();
      this.firstChunk += 1;
    }
  }

  private locate(slot: number): { chunk: Buffer; at: number } {
    const i = slot & (this.capacity - 1);
    return { chunk: this.chunks[(this.chunkOf[i] as number) - this.firstChunk] as Buffer, at: this.offsets[i] as number };
  }

  private exactSize(fingerprint: string, reply: Reply): number {
    const b = (s: string): number => Buffer.byteLength(s, 'utf8');
    return HEADER_BYTES + b(fingerprint) + b(reply.payload) + b(reply.error) + b(reply.worker);
  }

  private newChunk(size: number): void {
    this.chunks.push(Buffer.allocUnsafeSlow(size));
    this.fill = 0;
  }

  /** Doubles the ring, each slot to its place under the wider mask (sequence numbers, hence Map values, unchanged). */
  private grow(): void {
    const capacity = this.capacity * 2;
    if (capacity > SEQ_MASK + 1) throw new Error('answer log: too many answers held');
    const uuids = new Array<string>(capacity).fill('');
    const ats = new Float64Array(capacity);
    const chunkOf = new Uint32Array(capacity);
    const offsets = new Uint32Array(capacity);
    const lengths = new Uint32Array(capacity);
    for (let seq = this.head; seq < this.tail; seq += 1) {
      const from = seq & (this.capacity - 1);
      const to = seq & (capacity - 1);
      uuids[to] = this.uuids[from] as string;
      ats[to] = this.ats[from] as number;
      chunkOf[to] = this.chunkOf[from] as number;
      offsets[to] = this.offsets[from] as number;
      lengths[to] = this.lengths[from] as number;
    }
    this.capacity = capacity;
    this.uuids = uuids;
    this.ats = ats;
    this.chunkOf = chunkOf;
    this.offsets = offsets;
    this.lengths = lengths;
  }
}
