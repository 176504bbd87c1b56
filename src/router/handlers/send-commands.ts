// SendCommands: a client's stream of CommandBatch, its bearer checked once when it opens. Every command goes through
// the same CommandRouter.submit as SendCommand and gets exactly one Reply, in the ReplyBatch of the turn of the event
// loop it became ready in (docs/protocol.md).
import { randomUUID } from 'node:crypto';
import { status, type handleBidiStreamingCall, type ServerDuplexStream } from '@grpc/grpc-js';
import { coded, errorMessage } from '../../common/errors.js';
import { embeddedBytes, packBatches, replyBytes } from '../../proto/sizes.js';
import type { Command, CommandBatch, Reply, ReplyBatch } from '../../proto/types.js';
import type { Caller } from '../auth.js';
import type { ClosableSession, RouterContext } from '../context.js';
import { routerReply } from '../pending.js';
import { StreamWriter } from '../writer.js';
import { callerRefusal, commandAccess, refusal } from './refusals.js';

/** Reply batches held for a client that does not read them; past this its commands are not read either. */
const HELD_BATCHES = 16;

/** OPEN → HALF_CLOSED (the client sent its last command) → ENDED; or OPEN → ENDED (cancelled, broken, shut down). */
type Phase = 'OPEN' | 'HALF_CLOSED' | 'ENDED';

/** One SendCommands stream from its first batch to its end. */
class CommandStreamSession implements ClosableSession {
  private phase: Phase = 'OPEN';
  private readonly writer: StreamWriter<ReplyBatch>;
  /** Replies ready since the last flush. */
  private ready: Reply[] = [];
  private flushScheduled = false;
  /** Commands taken and not yet answered. */
  private unanswered = 0;
  /** The router shuts down: end once what is ready is written. */
  private stopping = false;
  /** Inside the loop over one CommandBatch: replies given meanwhile wait for the turn's flush. */
  private taking = false;

  constructor(
    private readonly ctx: RouterContext,
    private readonly call: ServerDuplexStream<CommandBatch, ReplyBatch>,
    private readonly caller: Caller,
  ) {
    this.writer = new StreamWriter<ReplyBatch>(call, { congestedAt: HELD_BATCHES, onRelief: () => call.resume() });
  }

  start(): void {
    this.ctx.sessions.add(this);
    this.call.on('data', (batch: CommandBatch) => {
      const batched = batch.commands.length > 1;
      this.taking = true;
      try {
        for (const command of batch.commands) this.take(command, batched);
      } finally {
        this.taking = false;
      }
    });
    this.call.on('end', () => this.onHalfClose());
    this.call.on('cancelled', () => this.close());
    this.call.on('error', () => this.close());
    this.call.on('close', () => this.close());
  }

  /** Router shutdown (in-flight commands are answered by then): write what is ready, then end the stream. */
  shutdown(): void {
    this.stopping = true;
    this.schedule();
  }

  private take(command: Command, batched: boolean): void {
    if (this.phase === 'ENDED') return;
    this.unanswered += 1;
    const refused = callerRefusal(this.caller, ...commandAccess('SendCommands', command.command));
    if (refused !== undefined) {
      // the stream stays open: only this command is refused, with a Reply like every other outcome
      this.answer(routerReply(command.uuid || randomUUID(), 'INVALID', coded('UNAUTHENTICATED', refused)));
      return;
    }
    this.ctx.commands.submitTo(
      command,
      batched,
      (reply) => this.answer(reply),
      (error: unknown) => {
        this.ctx.logger.error({ err: error, command: command.command }, 'SendCommands: a command failed inside the router');
        this.answer(routerReply(command.uuid, 'FAIL', coded('INTERNAL', `router error: ${errorMessage(error)}`)));
      },
    );
  }

  private answer(reply: Reply): void {
    this.unanswered -= 1;
    if (this.phase === 'ENDED') return; // the client is gone: the replay cache still has the reply
    this.ready.push(reply);
    // the last command in flight on this stream: no other reply can join its batch, so it leaves now, not a turn later
    if (this.unanswered === 0 && !this.taking) this.flush();
    else this.schedule();
  }

  /** One flush per turn of the event loop: the replies of that turn go out together, with no timer in between. */
  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.phase === 'ENDED') return;
    const limit = this.ctx.options.messageBytes;
    const ready = this.ready.map((reply) => this.fitting(reply, limit));
    this.ready = [];
    for (const replies of packBatches(ready, (r) => embeddedBytes(replyBytes(r)), limit)) this.writer.send({ replies });
    if (this.writer.congested) this.call.pause();
    if (this.stopping) this.finish(this.unanswered === 0 ? 'ok' : 'shutdown');
    else if (this.phase === 'HALF_CLOSED' && this.unanswered === 0) this.finish('ok');
  }

  /** The reply, or a FAIL in its place when it cannot fit in one message (writing it would end the stream). */
  private fitting(reply: Reply, limit: number): Reply {
    if (embeddedBytes(replyBytes(reply)) <= limit) return reply;
    const bytes = embeddedBytes(replyBytes(reply, true));
    if (bytes <= limit) return reply;
    return routerReply(reply.uuid, 'FAIL', coded('LIMIT_EXCEEDED', `the reply is ${bytes} bytes, over the ${limit}-byte message limit (limits.messageBytes)`), reply.worker);
  }

  /** The client half-closed: answer what is in flight, then end OK. */
  private onHalfClose(): void {
    // A cancelled or broken stream also ends the readable side first: look one turn later to tell them apart.
    setImmediate(() => {
      if (this.call.cancelled) {
        this.close();
        return;
      }
      if (this.phase !== 'OPEN') return;
      this.phase = 'HALF_CLOSED';
      this.schedule();
    });
  }

  private finish(how: 'ok' | 'shutdown'): void {
    if (this.phase === 'ENDED') return;
    this.close();
    if (how === 'ok') this.writer.end();
    else this.writer.fail({ code: status.UNAVAILABLE, details: 'ROUTER_SHUTDOWN: the router is shutting down' });
  }

  /** The stream is over: nothing more is written; commands still running keep their replies for replay. */
  private close(): void {
    this.phase = 'ENDED';
    this.ready = [];
    this.ctx.sessions.delete(this);
  }
}

export function sendCommandsHandler(ctx: RouterContext): handleBidiStreamingCall<CommandBatch, ReplyBatch> {
  return (call) => {
    const refused = refusal(ctx, call.metadata, ['admin', 'client'], 'SendCommands');
    if (refused) {
      call.emit('error', refused);
      return;
    }
    new CommandStreamSession(ctx, call, ctx.tokens.callerOf(call.metadata)).start();
  };
}
