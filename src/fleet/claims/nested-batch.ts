// Conditional writes of one kind (uuid claims, or their recorded replies) gathered during one turn of the event loop and
// sent to etcd as one transaction whose success branch holds a nested transaction per key, each with its own compare:
// every key is won or lost on its own, as by a transaction of its own, in one round trip (docs/fleet.md, claims in
// batches). A write alone leaves after the turn's I/O callbacks, in a batch of one: no timer is waited on.
import type { IRequestOp, IResponseOp, ITxnRequest, ITxnResponse } from 'etcd3';

/**
 * etcd refuses a request over 1.5 MiB, or with more operations at one level than `--max-txn-ops` (128 by default; a
 * nested transaction gets what its parent left): 64 nested transactions are 65 operations at the top.
 */
const BATCH_KEYS = 64;
const BATCH_BYTES = 1024 * 1024;

/** etcd refused the request for its size or its number of operations (an etcd run with lower limits): nothing applied. */
const TOO_BIG = /too many operations in txn request|request is too large|received message larger than max/;

/** What one key's nested transaction did, and the batch's revision (every key the batch put has it). */
interface NestedOutcome {
  succeeded: boolean;
  responses: IResponseOp[];
  revision: string;
}

interface Waiting {
  txn: ITxnRequest;
  resolve(outcome: NestedOutcome): void;
  reject(error: unknown): void;
}

export class NestedTxnBatcher {
  private waiting: Waiting[] = [];
  private readonly keys = new Set<string>();
  private bytes = 0;
  private scheduled = false;
  /** Keys per batch: BATCH_KEYS, or less once etcd refused a batch as too big (its limits are lower than its defaults). */
  private maxKeys = BATCH_KEYS;

  /** `commit` sends the batch (one transaction with no compare and `success` as its success branch). */
  constructor(private readonly commit: (success: IRequestOp[]) => Promise<ITxnResponse>) {}

  /**
   * Adds the nested transaction `txn` for `key` (`bytes`: what it writes) to this turn's batch. A key already in the
   * batch, or a batch that would pass its limits, sends the batch first: etcd refuses a key put twice in one request.
   */
  add(key: string, txn: ITxnRequest, bytes: number): Promise<NestedOutcome> {
    const full = this.waiting.length >= this.maxKeys || (this.waiting.length > 0 && this.bytes + bytes > BATCH_BYTES);
    if (full || this.keys.has(key)) this.flush();
    return new Promise<NestedOutcome>((resolve, reject) => {
      this.waiting.push({ txn, resolve, reject });
      this.keys.add(key);
      this.bytes += bytes;
      if (this.scheduled) return;
      this.scheduled = true;
      // after the I/O callbacks of this turn: every write they made is in the batch
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  /** Sends the batch gathered so far, if any; each waiting write settles with its own nested outcome. */
  private flush(): void {
    const waiting = this.waiting;
    if (waiting.length === 0) return;
    this.waiting = [];
    this.keys.clear();
    this.bytes = 0;
    this.send(waiting);
  }

  /**
   * One transaction for `waiting`. Refused as too big (nothing of it applied), it goes again as two halves, and later
   * batches hold no more than a half: every write still gets its own outcome, none falls back for the batch's size.
   */
  private send(waiting: Waiting[]): void {
    this.commit(waiting.map((w) => ({ request_txn: w.txn }))).then(
      (response) => {
        waiting.forEach((w, i) => {
          const nested = response.responses[i]?.response_txn;
          if (nested === undefined) w.reject(new Error(`etcd answered a batch of ${waiting.length} transactions with ${response.responses.length} responses`));
          else w.resolve({ succeeded: nested.succeeded, responses: nested.responses, revision: response.header.revision });
        });
      },
      (error: unknown) => {
        if (waiting.length > 1 && TOO_BIG.test(String((error as Error | undefined)?.message))) {
          const half = Math.ceil(waiting.length / 2);
          this.maxKeys = Math.min(this.maxKeys, half);
          this.send(waiting.slice(0, half));
          this.send(waiting.slice(half));
          return;
        }
        for (const w of waiting) w.reject(error);
      },
    );
  }
}
