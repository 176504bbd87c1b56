// Connect: the admin's stream (admin bearer) or a worker's (no bearer, one-time token in Hello).
import { status, type handleBidiStreamingCall, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Event, Hello, Reply, WorkerMessageIn } from '../../proto/types.js';
import { WorkerConnection, type ConnectionIdentity, type RouterMessageOut } from '../connection.js';
import type { ClosableSession, RouterContext } from '../context.js';
import { checkAdminHello, checkWorkerHello } from '../hello.js';
import { prepareWorkerEvent } from '../worker-events.js';
import { ConnectWriter } from '../connect-writer.js';

/** Commands held for a slow worker before dispatch looks elsewhere (or queues). */
const CONNECTION_BACKLOG = 1024;

type Phase = 'HELLO_WAIT' | 'ACCEPTED' | 'ENDED';

/** One Connect stream from its first byte to its end. */
class ConnectSession implements ClosableSession {
  private phase: Phase = 'HELLO_WAIT';
  private connection: WorkerConnection | undefined;
  private helloTimer: NodeJS.Timeout | undefined;
  private readonly writer: ConnectWriter;
  /** Misbehaviours so far (foreign-uuid replies, malformed messages); at limits.workerStrikes the stream is cut off. */
  private strikes = 0;

  constructor(
    private readonly ctx: RouterContext,
    private readonly call: ServerDuplexStream<WorkerMessageIn, RouterMessageOut>,
    private readonly asAdmin: boolean,
  ) {
    const { slowReaderMs } = ctx.options.limits;
    this.writer = new ConnectWriter(call, {
      congestedAt: CONNECTION_BACKLOG,
      onRelief: () => ctx.commands.pump(),
      stallMs: slowReaderMs,
      onStall: () => this.cutOff(`SLOW_READER: the stream was not read for ${slowReaderMs} ms (limit slowReaderMs = ${slowReaderMs})`),
    });
  }

  start(): void {
    this.ctx.sessions.add(this);
    this.helloTimer = setTimeout(() => this.refuse('NO_HELLO', status.UNAUTHENTICATED, `no Hello within ${this.ctx.options.helloMs} ms`), this.ctx.options.helloMs);
    this.call.on('data', (message: WorkerMessageIn) => this.onMessage(message));
    this.call.on('end', () => this.onHalfClose());
    this.call.on('cancelled', () => this.close('cancelled by the peer'));
    this.call.on('error', (error: Error) => this.close(`stream error: ${error.message}`));
    this.call.on('close', () => this.close('stream closed'));
  }

  /** Router shutdown: end the stream UNAVAILABLE. */
  shutdown(): void {
    this.writer.fail({ code: status.UNAVAILABLE, details: 'ROUTER_SHUTDOWN: the router is shutting down' });
    this.close('router shutdown');
  }

  private onMessage(message: WorkerMessageIn): void {
    if (this.phase === 'HELLO_WAIT') {
      if (message.kind === 'hello' && message.hello) this.onHello(message.hello);
      else this.refuse('HELLO_EXPECTED', status.UNAUTHENTICATED, `first message was ${message.kind}, not hello`);
      return;
    }
    const connection = this.connection;
    if (this.phase !== 'ACCEPTED' || !connection) return;
    if (message.kind === 'reply' && message.reply) this.onReply(connection, message.reply);
    else if (message.kind === 'replies' && message.replies) {
      for (const reply of message.replies.replies) this.onReply(connection, reply);
    } else if (message.kind === 'event' && message.event) this.onEvent(connection, message.event);
    else if (message.kind === 'events' && message.events) {
      for (const event of message.events.events) this.onEvent(connection, event);
    }
    else if (message.kind === 'hello') this.strike('second Hello on an accepted stream');
    else if (message.kind !== 'heartbeat') this.strike('message with no kind');
  }

  private onReply(connection: WorkerConnection, reply: Reply): void {
    const verdict = this.ctx.commands.complete(connection, reply);
    if (verdict === 'foreign') this.strike(`reply for uuid ${JSON.stringify(reply.uuid)} it was not given`);
    else if (verdict === 'malformed') this.strike('reply payload that is not JSON (or too deep)');
  }

  private onEvent(connection: WorkerConnection, event: Event): void {
    const prepared = prepareWorkerEvent(connection, event, this.ctx.options.limits.payloadDepth);
    if (!prepared.ok) {
      this.ctx.logger.warn({ worker: connection.name, event: event.event, why: prepared.why }, 'event from worker dropped');
      this.strike(`event dropped: ${prepared.why}`);
      return;
    }
    this.ctx.hub.publish(prepared.event, connection);
  }

  /** Counts one misbehaviour; at limits.workerStrikes the worker is cut off (the admin's stream never is). */
  private strike(why: string): void {
    const connection = this.connection;
    if (!connection || connection.identity.admin) return;
    this.strikes += 1;
    const limit = this.ctx.options.limits.workerStrikes;
    if (this.strikes === 1 || this.strikes % 10 === 0) this.ctx.logger.warn({ worker: connection.name, strikes: this.strikes, limit, why }, 'worker misbehaves');
    if (this.strikes >= limit) this.cutOff(`MISBEHAVING: ${this.strikes} bad messages, the last: ${why} (limit workerStrikes = ${limit})`);
  }

  /** Ends a bad worker's stream at once: its commands in flight get WORKER_LOST, the router says why. */
  private cutOff(reason: string): void {
    if (this.phase === 'ENDED') return;
    this.ctx.logger.error({ worker: this.connection?.name, reason }, 'worker cut off');
    // close first: the abort below makes the stream emit 'error', whose reason must not replace this one
    this.close(`WORKER_CUT_OFF: ${reason}`);
    this.writer.abort({ code: status.RESOURCE_EXHAUSTED, details: `WORKER_CUT_OFF: ${reason}` });
  }

  private onHello(hello: Hello): void {
    clearTimeout(this.helloTimer);
    const outcome = this.asAdmin ? checkAdminHello(hello) : checkWorkerHello(hello, this.ctx.expectations);
    if (!outcome.ok) {
      this.refuse(outcome.reason, outcome.code, outcome.detail, hello);
      return;
    }
    if (outcome.ignored.length > 0) this.ctx.logger.warn({ identifier: hello.identifier, ignored: outcome.ignored }, 'Hello lists commands this stream may not serve: ignored');
    if (outcome.configured) this.ctx.products.setConfigured(outcome.configured);
    if (hello.batching) this.writer.batchCommands();
    this.accept(outcome.identity);
  }

  private accept(identity: ConnectionIdentity): void {
    const { ctx } = this;
    const maxInFlight = identity.admin ? Number.POSITIVE_INFINITY : ctx.options.limits.workerConcurrency;
    const connection = new WorkerConnection(ctx.registry.allocateId(), identity, this.writer, ctx.now(), ctx.logger, maxInFlight);
    this.connection = connection;
    this.phase = 'ACCEPTED';
    ctx.registry.add(connection);
    this.writer.send({ welcome: { valid: true, reason: '', batching: true, event_batches: true } });
    ctx.logger.info({ worker: connection.name, admin: identity.admin, commands: identity.commands }, 'worker registered');
    ctx.hub.routerEvent('WORKER_REGISTERED', {
      identifier: identity.identifier,
      version: identity.version,
      type: identity.type,
      product: identity.product,
      commands: identity.commands,
    });
    ctx.commands.pump();
  }

  private refuse(reason: string, code: status, detail: string, hello?: Hello): void {
    if (this.phase !== 'HELLO_WAIT') return;
    clearTimeout(this.helloTimer);
    this.phase = 'ENDED';
    this.ctx.sessions.delete(this);
    this.writer.send({ welcome: { valid: false, reason, batching: false, event_batches: false } });
    this.writer.fail({ code, details: reason });
    this.ctx.logger.warn({ identifier: hello?.identifier, version: hello?.version, reason, detail }, 'worker refused');
    this.ctx.hub.routerEvent('WORKER_VERIFY_ERROR', { identifier: hello?.identifier ?? '', version: hello?.version ?? '', reason, detail });
  }

  /** The worker half-closed (after its drain): nothing more can be answered, so end the stream OK. */
  private onHalfClose(): void {
    // A cancelled or broken stream also ends the readable side first: look one turn later to tell them apart.
    setImmediate(() => {
      this.close(this.call.cancelled ? 'cancelled by the peer' : 'half-closed by the worker');
      this.writer.end();
    });
  }

  /** The stream is over, whatever the cause: in-flight commands get WORKER_LOST, the router says so. */
  private close(reason: string): void {
    clearTimeout(this.helloTimer);
    this.ctx.sessions.delete(this);
    if (this.phase === 'HELLO_WAIT') {
      this.phase = 'ENDED';
      return;
    }
    const connection = this.connection;
    if (this.phase === 'ENDED' || !connection) return;
    this.phase = 'ENDED';
    connection.transition('CLOSED', reason);
    this.ctx.commands.connectionLost(connection, reason);
    this.ctx.registry.remove(connection);
    const { identifier, version } = connection.identity;
    this.ctx.hub.routerEvent('WORKER_DISCONNECTED', { identifier, version, reason });
  }
}

export function connectHandler(ctx: RouterContext): handleBidiStreamingCall<WorkerMessageIn, RouterMessageOut> {
  return (call) => {
    if (ctx.closing) {
      call.emit('error', Object.assign(new Error('ROUTER_SHUTDOWN'), { code: status.UNAVAILABLE, details: 'ROUTER_SHUTDOWN: the router is shutting down' }));
      return;
    }
    const caller = ctx.tokens.callerOf(call.metadata);
    if (caller === 'client' || caller === 'invalid') {
      const details = caller === 'client' ? 'Connect: the client token cannot open a worker or admin stream' : 'Connect: the bearer token is not valid';
      call.emit('error', Object.assign(new Error(details), { code: status.UNAUTHENTICATED, details }));
      ctx.hub.routerEvent('WORKER_VERIFY_ERROR', { identifier: '', version: '', reason: 'BAD_TOKEN' });
      return;
    }
    new ConnectSession(ctx, call, caller === 'admin').start();
  };
}
