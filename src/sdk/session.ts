// One worker's stream to the router: Hello/Welcome, commands, topic events, heartbeats, drain, end.
import * as grpc from '@grpc/grpc-js';
import { WorkerAdminError, coded, errorCodeOf, errorMessage, type ErrorCode } from '../common/errors.js';
import type { Command, Event, RouterMessageIn, WorkerMessage } from '../proto/types.js';
import { failReply, runCommand, type WorkerReply } from './command-runner.js';
import { EXIT_DRAINED, EXIT_FAILED, EXIT_REFUSED } from './exit-codes.js';
import { Lifecycle } from './lifecycle.js';
import { toEventMessage, toJsonText } from './messages.js';
import type { StartLine } from './start-line.js';
import { createStreamWriter, HANDED_OVER, type StreamWriter } from './stream-writer.js';
import { eventSender, replySender, type EventSender, type ReplySender } from './turn-sender.js';
import type { CommandHandler, EmitOptions, TopicHandler, WorkerState } from './types.js';

/** What a session needs: the open stream, who it is, what it serves, how to log. */
interface SessionDeps {
  call: grpc.ClientDuplexStream<WorkerMessage, RouterMessageIn>;
  line: StartLine;
  commands: Record<string, CommandHandler>;
  events: string[];
  topics: Record<string, TopicHandler>;
  log: (line: string) => void;
  heartbeatMs: number;
  helloTimeoutMs: number;
  /** After the half-close, how long to wait for the router to end the stream. */
  closeTimeoutMs: number;
}

/** How the session ended: the exit code and why. */
interface SessionEnd {
  code: number;
  reason: string;
}

/** Drives one Connect stream from Hello to its end; `ended` settles exactly once. */
export class WorkerSession {
  readonly lifecycle: Lifecycle;
  readonly ended: Promise<SessionEnd>;
  readonly #d: SessionDeps;
  readonly #writer: StreamWriter<WorkerMessage>;
  readonly #replies: ReplySender;
  readonly #events: EventSender;
  readonly #stop = new AbortController();
  /** Commands whose handler has not answered yet; `#idle` is called when it drops to 0. */
  #running = 0;
  #idle: (() => void) | undefined;
  #endWith!: (end: SessionEnd) => void;
  #welcomed!: { resolve: () => void; reject: (e: WorkerAdminError) => void };
  #heartbeat: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | undefined;

  constructor(deps: SessionDeps) {
    this.#d = deps;
    this.lifecycle = new Lifecycle(deps.log);
    this.#writer = createStreamWriter<WorkerMessage>(deps.call);
    this.#replies = replySender(this.#writer);
    this.#events = eventSender(this.#writer);
    this.ended = new Promise((resolve) => (this.#endWith = resolve));
  }

  get state(): WorkerState {
    return this.lifecycle.state;
  }

  /** Sends Hello and resolves on Welcome.valid; rejects with the router's code (BAD_TOKEN, COMMANDS_MISSING…) or ROUTER_ERROR otherwise. */
  start(): Promise<void> {
    const { call, line } = this.#d;
    const welcomed = new Promise<void>((resolve, reject) => (this.#welcomed = { resolve, reject }));
    call.on('data', (m: RouterMessageIn) => this.#onMessage(m));
    call.on('status', (s: grpc.StatusObject) => this.#onStatus(s));
    call.on('error', () => undefined); // the 'status' event that always follows carries the same news
    this.#timer = setTimeout(() => this.#refuse(EXIT_FAILED, 'ROUTER_ERROR', `no Welcome from router ${line.target} within ${this.#d.helloTimeoutMs} ms`), this.#d.helloTimeoutMs);
    const hello = {
      identifier: line.identifier, token: line.token, type: line.type, product: line.product, version: line.version,
      commands: Object.keys(this.#d.commands), events: this.#d.events, topics: Object.keys(this.#d.topics),
      batching: true,
    };
    this.#writer.write({ hello }).catch((e: unknown) => this.#refuse(EXIT_FAILED, 'ROUTER_ERROR', `cannot send Hello: ${errorMessage(e)}`));
    return welcomed;
  }

  /** Sends an event on the stream (topic default `{type}/{product}`). */
  async emit(event: string, payload: unknown, options: EmitOptions = {}): Promise<void> {
    const state = this.lifecycle.state;
    if (state !== 'READY' && state !== 'DRAINING') throw new WorkerAdminError('STATE_INVALID', `cannot emit ${event}: the worker is ${state}`);
    const e = {
      event, topic: options.topic ?? `${this.#d.line.type}/${this.#d.line.product}`,
      payload: toJsonText(payload, `the payload of event ${event}`), reference_uuid: options.referenceUuid ?? '',
    };
    await this.#events.send(e);
  }

  /** Takes nothing new, waits for in-flight handlers and their replies, half-closes; `ended` settles when the router ends the stream. */
  drain(reason: string): Promise<void> {
    if (this.lifecycle.state === 'CONNECTING') {
      this.#refuse(EXIT_FAILED, 'ROUTER_ERROR', `stopped before the router welcomed the worker (${reason})`);
      return Promise.resolve();
    }
    return (this.#draining ??= this.#doDrain(reason));
  }

  /** Ends at once without waiting (second signal, fatal error): in-flight replies are lost. */
  abort(reason: string): void {
    if (this.lifecycle.state === 'CONNECTING') return this.#refuse(EXIT_FAILED, 'ROUTER_ERROR', reason);
    this.#d.call.cancel();
    this.#finish(EXIT_FAILED, reason);
  }

  async #doDrain(reason: string): Promise<void> {
    if (this.lifecycle.state !== 'READY') return;
    this.lifecycle.to('DRAINING', reason);
    while (this.#running > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    // every reply was given to a sender: the ones gathered for this turn's batch go now, then wait for the stream
    this.#events.flush();
    this.#replies.flush();
    await this.#writer.flushed();
    if (this.lifecycle.ended) return;
    this.lifecycle.to('CLOSING', `${reason}: every reply sent, half-closing`);
    this.#d.call.end();
    this.#timer = setTimeout(() => this.abort(`router did not end the stream within ${this.#d.closeTimeoutMs} ms after the half-close`), this.#d.closeTimeoutMs);
  }

  #onMessage(m: RouterMessageIn): void {
    switch (m.kind) {
      case 'welcome': return this.#onWelcome(m.welcome?.valid === true, m.welcome?.reason ?? '', m.welcome?.batching === true, m.welcome?.event_batches === true);
      case 'command': if (m.command) this.#onCommand(m.command, false); return;
      case 'commands': for (const command of m.commands?.commands ?? []) this.#onCommand(command, true); return;
      case 'drain': void this.drain(`drain requested by the router${m.drain?.reason ? `: ${m.drain.reason}` : ''}`); return;
      case 'event': if (m.event) this.#onEvent(m.event); return;
    }
  }

  #onWelcome(valid: boolean, reason: string, batching: boolean, eventBatches: boolean): void {
    if (this.lifecycle.state !== 'CONNECTING') return;
    if (!valid) {
      return this.#refuse(EXIT_REFUSED, errorCodeOf(reason) ?? 'BAD_TOKEN', `refused by router ${this.#d.line.target}: ${reason || 'no reason given'}`);
    }
    clearTimeout(this.#timer);
    this.#replies.batching = batching; // a router that does not say so gets one reply per message
    this.#events.batching = eventBatches; // and one event per message
    this.lifecycle.to('READY', `welcomed by router ${this.#d.line.target}`);
    this.#heartbeat = setInterval(() => this.#beat(), this.#d.heartbeatMs).unref();
    this.#welcomed.resolve();
  }

  /** `inBatch`: it came with others, and its reply may go with theirs; one that came alone is answered alone, at once. */
  #onCommand(command: Command, inBatch: boolean): void {
    const state = this.lifecycle.state;
    if (state === 'CLOSING' || this.lifecycle.ended) return; // we half-closed: the router answers WORKER_LOST
    if (state !== 'READY') {
      // dispatched before the router saw our drain: answer at once rather than leave it hanging
      void this.#writer.write({ reply: failReply(command.uuid, coded('WORKER_DRAINING', `${this.#d.line.identifier}@${this.#d.line.version} takes no new commands`)) }).catch(() => undefined);
      return;
    }
    this.#running += 1;
    runCommand(command, this.#d.commands[command.command], this.#stop.signal, (reply) => this.#answer(command, reply, inBatch));
  }

  #notSent(command: Command, error: unknown): void {
    this.#d.log(`reply to ${command.command} ${command.uuid} not sent: ${errorMessage(error)}`);
  }

  /** Gives a handler's reply to the sender (alone, at once, after the events gathered so far, unless it came in a batch). */
  #answer(command: Command, reply: WorkerReply, inBatch: boolean): void {
    try {
      if (!inBatch) this.#events.flush(); // an event its handler emitted comes before the reply
      const sent = inBatch ? this.#replies.send(reply) : this.#replies.sendNow(reply);
      if (sent !== HANDED_OVER) sent.catch((e: unknown) => this.#notSent(command, e));
    } catch (error) {
      this.#notSent(command, error); // a write that throws (a stream torn down under it) must not take the worker with it
    }
    this.#running -= 1;
    if (this.#running === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = undefined;
      idle();
    }
  }

  #onEvent(e: Event): void {
    const handler = this.#d.topics[e.topic];
    if (!handler || this.lifecycle.state !== 'READY') return;
    Promise.resolve()
      .then(() => handler(toEventMessage(e)))
      .catch((error: unknown) => this.#d.log(`handler of topic ${e.topic} failed on ${e.event}: ${errorMessage(error)}`));
  }

  #onStatus(s: grpc.StatusObject): void {
    const name = grpc.status[s.code] ?? String(s.code);
    const details = s.details && s.details !== name ? `: ${s.details}` : '';
    switch (this.lifecycle.state) {
      case 'CONNECTING': {
        const refused = s.code === grpc.status.UNAUTHENTICATED || s.code === grpc.status.FAILED_PRECONDITION;
        const code = s.code === grpc.status.FAILED_PRECONDITION ? 'COMMANDS_MISSING' : refused ? 'BAD_TOKEN' : 'ROUTER_ERROR';
        return this.#refuse(refused ? EXIT_REFUSED : EXIT_FAILED, code, `router ${this.#d.line.target} ended the stream before Welcome with ${name}${details}`);
      }
      case 'CLOSING':
        return this.#finish(s.code === grpc.status.OK ? EXIT_DRAINED : EXIT_FAILED, `router ended the stream with ${name}${details} after the drain`);
      default:
        return this.#finish(EXIT_FAILED, `router stream ended unexpectedly with ${name}${details}`);
    }
  }

  #refuse(exitCode: number, code: ErrorCode, message: string): void {
    if (this.lifecycle.state !== 'CONNECTING') return;
    this.#d.call.cancel();
    this.#finish(exitCode, message);
    this.#welcomed.reject(new WorkerAdminError(code, message, { details: { exitCode } }));
  }

  #beat(): void {
    // a full buffer already proves the stream is alive; do not pile heartbeats on it
    if (this.#writer.blocked || this.lifecycle.state !== 'READY') return;
    this.#writer.write({ heartbeat: { timestamp_ms: Date.now() } }).catch(() => undefined);
  }

  #finish(code: number, reason: string): void {
    if (this.lifecycle.ended) return;
    clearTimeout(this.#timer);
    clearInterval(this.#heartbeat);
    this.#stop.abort(new Error(reason));
    this.lifecycle.to(code === 0 ? 'CLOSED' : 'FAILED', reason);
    this.#endWith({ code, reason });
  }
}
