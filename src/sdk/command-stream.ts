// One SendCommands stream to one router (docs/protocol.md): the commands sent in one turn of the event loop go out as
// one CommandBatch (split under the message limit), replies come back matched by uuid. When the stream ends, every
// command written on it gets an error naming why (it may have run); the ones not written yet go back to the pool.
import * as grpc from '@grpc/grpc-js';
import { MESSAGE_BYTES, packBatches } from '../proto/sizes.js';
import type { Command, CommandBatch, Reply, ReplyBatch } from '../proto/types.js';
import { routerCallFailure, type RouterRpc } from './rpc.js';

/** How often commands whose deadline passed with no reply are failed (each deadline already has a 5 s margin). */
const SWEEP_MS = 1000;
/** A batch holding every command in flight on the stream, and at least this many, leaves as two halves a turn apart. */
const SPLIT_AT = 8;

/** A command given to a stream, until its Reply or its error (exactly one of the two). */
export interface StreamEntry {
  /** With its uuid: the Reply is matched by it. */
  readonly command: Command;
  /** Its size as an entry of a CommandBatch (at least the real one). */
  readonly bytes: number;
  /** When the SDK stops waiting for its Reply (the command's timeout plus a margin, as a unary call's deadline). */
  readonly deadlineAt: number;
  /** Set once it was resolved or rejected. */
  done: boolean;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/** OPEN until the router ends the stream (any status), then ENDED for good. */
type StreamState = 'OPEN' | 'ENDED';

export class CommandStream {
  private state: StreamState = 'OPEN';
  private readonly call: grpc.ClientDuplexStream<CommandBatch, ReplyBatch>;
  /** Entries waiting for their Reply, by uuid (a uuid sent twice waits twice: replay gives both the same Reply). */
  private readonly waiting = new Map<string, StreamEntry[]>();
  private waitingCount = 0;
  /** Entries not written yet (their batch is written at the end of this turn, or on 'drain'). */
  private outbox: StreamEntry[] = [];
  private flushScheduled = false;
  /** write() returned false: nothing more until 'drain'. */
  private blocked = false;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly rpc: RouterRpc,
    /** Called once when the stream ended, with the entries it never wrote (they never reached the router). */
    private readonly onEnd: (stream: CommandStream, unwritten: StreamEntry[]) => void,
  ) {
    this.call = rpc.sendCommands();
    this.call.on('data', (batch: ReplyBatch) => {
      for (const reply of batch.replies) this.onReply(reply);
    });
    this.call.on('error', () => undefined); // the 'status' that follows says the same, once
    this.call.on('status', (status: grpc.StatusObject) => this.end(status));
    this.call.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
  }

  get open(): boolean {
    return this.state === 'OPEN';
  }

  /** Flow control holds this stream: a new command would wait behind what is already queued on it. */
  get busy(): boolean {
    return this.blocked;
  }

  /** Takes a command: written with the others of this turn, resolved by its Reply or rejected when the stream ends. */
  send(entry: StreamEntry): void {
    const uuid = entry.command.uuid;
    const list = this.waiting.get(uuid);
    if (list) list.push(entry);
    else this.waiting.set(uuid, [entry]);
    this.waitingCount += 1;
    this.outbox.push(entry);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Alone on the stream: written once the callback that sent it is done (the others it sends join it), in this
      // turn; else at the end of the turn, with every command sent in it.
      if (this.waitingCount === 1) queueMicrotask(() => this.flush());
      else setImmediate(() => this.flush());
    }
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /** No more commands: what is not written yet is written, the router answers those in flight, then ends the stream. */
  halfClose(): void {
    if (this.state !== 'OPEN') return;
    this.flush(false);
    this.call.end();
  }

  private onReply(reply: Reply): void {
    const list = this.waiting.get(reply.uuid);
    const entry = list?.shift();
    if (!list || !entry) return; // its deadline passed already: it was failed then
    if (list.length === 0) this.waiting.delete(reply.uuid);
    this.settled();
    entry.done = true;
    entry.resolve(reply);
  }

  private settled(): void {
    this.waitingCount -= 1;
    if (this.waitingCount > 0) return;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private flush(split = true): void {
    this.flushScheduled = false;
    if (this.state !== 'OPEN' || this.blocked) return;
    let ready = this.outbox.filter((e) => !e.done);
    this.outbox = [];
    // Every command in flight is in this batch, one wave that would cross each hop (router, worker, another host)
    // while the others wait: its second half leaves a turn later, so the hops work on one half while the other moves.
    // Two waves in flight, none is split again (docs/protocol.md).
    if (split && ready.length >= SPLIT_AT && ready.length === this.waitingCount) {
      this.outbox = ready.slice(ready.length >> 1);
      ready = ready.slice(0, ready.length >> 1);
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    const batches = packBatches(ready, (e) => e.bytes, MESSAGE_BYTES);
    for (const [i, batch] of batches.entries()) {
      if (this.blocked) {
        this.outbox = [...batches.slice(i).flat(), ...this.outbox]; // before a second half held for the next turn
        return;
      }
      if (!this.call.write({ commands: batch.map((e) => e.command) })) this.blocked = true;
    }
  }

  /** Fails the commands whose deadline passed with no Reply (a router that stopped answering on an open stream). */
  private sweep(): void {
    const now = Date.now();
    for (const [uuid, list] of this.waiting) {
      for (const entry of list.filter((e) => e.deadlineAt <= now)) {
        list.splice(list.indexOf(entry), 1);
        this.settled();
        entry.done = true;
        entry.reject(routerCallFailure('SendCommands', this.rpc.address, grpc.status.DEADLINE_EXCEEDED, `no reply to ${entry.command.command} ${uuid} before its deadline`));
      }
      if (list.length === 0) this.waiting.delete(uuid);
    }
  }

  /** The router ended the stream: written commands get an error (they may have run), unwritten ones go back. */
  private end(status: grpc.StatusObject): void {
    if (this.state === 'ENDED') return;
    this.state = 'ENDED';
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const unwritten = this.outbox.filter((e) => !e.done);
    this.outbox = [];
    const held = new Set(unwritten);
    const [code, why] = status.code === grpc.status.OK
      ? [grpc.status.UNAVAILABLE, 'the router ended the stream']
      : [status.code, status.details];
    const error = routerCallFailure('SendCommands', this.rpc.address, code, `${why} (the command was sent and got no reply: it may have run)`);
    for (const list of this.waiting.values()) {
      for (const entry of list) {
        if (held.has(entry) || entry.done) continue;
        entry.done = true;
        entry.reject(error);
      }
    }
    this.waiting.clear();
    this.waitingCount = 0;
    this.onEnd(this, unwritten);
  }
}
