// A Connect stream's writer: to a worker that takes batches, the commands that came in batches (a client's
// CommandBatch, another host's turn, a queue emptying) and were dispatched in one turn of the event loop leave as one
// message, never past the 4 MiB a gRPC message may carry; a command that came alone leaves alone, at once, so that
// unary callers are not held to the pace of a batch (docs/protocol.md).
import type { Writable } from 'node:stream';
import type { Command } from '../proto/types.js';
import type { RouterMessageOut } from './connection.js';
import { StreamWriter } from './writer.js';

/** Bytes of commands per batch: gRPC refuses messages over 4 MiB; the rest is room for the envelope. */
const BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Protobuf framing of a command beyond its strings (tags, lengths, timeout). */
const COMMAND_FRAMING = 64;

type StreamWriterOptions = ConstructorParameters<typeof StreamWriter<RouterMessageOut>>[1];

/** Bytes a command's strings may take in UTF-8: at most 3 per UTF-16 unit. */
function sizeBound(c: Command): number {
  let chars = c.uuid.length + c.command.length + c.payload.length + c.target.length + c.major.length + c.product.length;
  for (const key in c.context) chars += key.length + (c.context[key] as string).length + 8;
  return COMMAND_FRAMING + 3 * chars;
}

function exactSize(c: Command): number {
  const b = (s: string): number => Buffer.byteLength(s, 'utf8');
  let bytes = COMMAND_FRAMING + b(c.uuid) + b(c.command) + b(c.payload) + b(c.target) + b(c.major) + b(c.product);
  for (const key in c.context) bytes += b(key) + b(c.context[key] as string) + 8;
  return bytes;
}

/** Commands counted one by one for congestion, whether they left alone or in a batch. */
const weigh = (message: RouterMessageOut): number => message.commands?.commands.length ?? 1;

export class ConnectWriter extends StreamWriter<RouterMessageOut> {
  private batching = false;
  private outbox: Command[] = [];
  private outboxBytes = 0;
  private scheduled = false;

  constructor(stream: Writable, options: StreamWriterOptions) {
    super(stream, { ...options, weigh });
  }

  /** From now on commands leave in batches (the worker's Hello said it takes them). */
  batchCommands(): void {
    this.batching = true;
  }

  override get buffered(): number {
    return super.buffered + this.outbox.length;
  }

  /** Anything but a command: after the batch gathered so far, keeping the order. */
  override send(message: RouterMessageOut): boolean {
    this.flushOutbox();
    return super.send(message);
  }

  /** A command: into this turn's batch when it came in one (`gather`) and the worker takes batches; else at once. */
  sendCommand(command: Command, gather: boolean): boolean {
    if (!this.batching || !gather) return this.send({ command });
    if (this.closed) return false;
    let bytes = sizeBound(command);
    if (this.outboxBytes + bytes > BATCH_BYTES) {
      bytes = exactSize(command);
      if (this.outboxBytes + bytes > BATCH_BYTES) this.flushOutbox();
    }
    this.outbox.push(command);
    this.outboxBytes += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      // after the I/O callbacks of this turn: every command they dispatched is in the batch, no timer waited on
      setImmediate(() => {
        this.scheduled = false;
        this.flushOutbox();
      });
    }
    return true;
  }

  override end(): void {
    this.flushOutbox();
    super.end();
  }

  override fail(status: Parameters<StreamWriter<RouterMessageOut>['fail']>[0]): void {
    this.flushOutbox();
    super.fail(status);
  }

  override abort(status: Parameters<StreamWriter<RouterMessageOut>['abort']>[0]): void {
    this.outbox = [];
    this.outboxBytes = 0;
    super.abort(status);
  }

  private flushOutbox(): void {
    const commands = this.outbox;
    if (commands.length === 0) return;
    this.outbox = [];
    this.outboxBytes = 0;
    super.send(commands.length === 1 ? { command: commands[0] as Command } : { commands: { commands } });
  }
}
