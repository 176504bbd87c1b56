// The SendCommands streams of one client to one router: a command goes on the first open stream that flow control
// does not hold; another opens (up to `size`) only while every open one is held, so one large command does not stall
// the small ones behind it. A stream that ended is replaced on the next send: the client reconnects by itself.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { commandBytes, embeddedBytes, MESSAGE_BYTES } from '../proto/sizes.js';
import type { Command, Reply } from '../proto/types.js';
import { CommandStream, type StreamEntry } from './command-stream.js';
import type { CommandSender } from './failover.js';
import { commandDeadlineMs, routerCallFailure, type RouterRpc } from './rpc.js';

export class StreamPool implements CommandSender {
  private streams: CommandStream[] = [];
  private closed = false;

  constructor(
    private readonly rpc: RouterRpc,
    private readonly size: number,
  ) {}

  /** Resolves with the command's Reply; rejects when it cannot be written or its stream ended before the Reply. */
  send(input: Partial<Command>): Promise<Reply> {
    const command: Command = {
      uuid: input.uuid || randomUUID(), command: input.command ?? '', payload: input.payload ?? '', timeout_ms: input.timeout_ms ?? 0,
      target: input.target ?? '', major: input.major ?? '', context: input.context ?? {}, product: input.product ?? '',
      // made here (or by the RouterPool) only to match the Reply (a broken stream's commands are failed, never
      // re-sent): the router neither claims nor remembers it
      generated_uuid: input.uuid && input.generated_uuid !== true ? undefined : true,
    };
    const bytes = embeddedBytes(commandBytes(command));
    const tooBig = bytes > MESSAGE_BYTES ? this.oversize(command) : undefined;
    if (tooBig !== undefined) return Promise.reject(tooBig);
    if (this.closed) return Promise.reject(routerCallFailure('SendCommands', this.rpc.address, grpc.status.CANCELLED, 'the client was closed'));
    return new Promise<Reply>((resolve, reject) => {
      this.enqueue({ command, bytes, deadlineAt: Date.now() + commandDeadlineMs(command), done: false, resolve, reject });
    });
  }

  /** Half-closes every stream: the router answers what is in flight on them, then ends them. */
  close(): void {
    this.closed = true;
    for (const stream of this.streams) stream.halfClose();
  }

  /**
   * For a command whose quick size bound is over the limit: the error it gets when no message can carry it (gRPC
   * would refuse the whole batch, ending the stream), counted exactly.
   */
  private oversize(command: Command): Error | undefined {
    const bytes = commandBytes(command, true);
    if (embeddedBytes(bytes) <= MESSAGE_BYTES) return undefined;
    return routerCallFailure('SendCommands', this.rpc.address, grpc.status.RESOURCE_EXHAUSTED, `the command is ${bytes} bytes, over the ${MESSAGE_BYTES}-byte message limit`);
  }

  private enqueue(entry: StreamEntry): void {
    this.pick().send(entry);
  }

  private pick(): CommandStream {
    const free = this.streams.find((s) => s.open && !s.busy);
    if (free) return free;
    if (this.streams.length < this.size) {
      const stream = new CommandStream(this.rpc, (ended, unwritten) => this.ended(ended, unwritten));
      this.streams.push(stream);
      return stream;
    }
    // every stream is held: the first one takes it, in order behind what waits there
    return this.streams[0]!;
  }

  /** A stream ended: forget it; the commands it never wrote never reached the router, so they go on another one. */
  private ended(stream: CommandStream, unwritten: StreamEntry[]): void {
    this.streams = this.streams.filter((s) => s !== stream);
    for (const entry of unwritten) {
      if (this.closed) entry.reject(routerCallFailure('SendCommands', this.rpc.address, grpc.status.CANCELLED, 'the client was closed'));
      else this.enqueue(entry);
    }
  }
}
