// Raw grpc-js clients acting as workers, the admin and clients: real gRPC, no SDK.
import { randomBytes, randomUUID } from 'node:crypto';
import { credentials, Metadata, type Client, type ClientDuplexStream, type ClientReadableStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { routerClientConstructor } from '../../src/proto/load.js';
import type { Command, CommandBatch, Event, EventFilter, Expectation, Hello, Reply, ReplyBatch, RouterMessageIn, WorkerList, WorkerMessage } from '../../src/proto/types.js';
import { sha256Hex } from '../../src/router/auth.js';

type Callback<T> = (error: ServiceError | null, value?: T) => void;
type UnaryMethod<Req, Res> = (request: Req, metadata: Metadata, options: { deadline?: number }, callback: Callback<Res>) => unknown;

/** A Router client (one channel). */
export function routerClient(address: string): Client {
  const Ctor = routerClientConstructor();
  return new Ctor(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 8 * 1024 * 1024, 'grpc.max_send_message_length': 8 * 1024 * 1024 });
}

/** Metadata with `authorization: Bearer token` (none when token is undefined). */
function bearer(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

/** Calls a unary method; rejects with the ServiceError. */
export function unary<Res>(client: Client, method: string, request: unknown, token: string | undefined, deadlineMs = 60_000): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<unknown, Res>>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, bearer(token), { deadline: Date.now() + deadlineMs }, (error, value) => (error ? reject(error) : resolve(value as Res)));
  });
}

type CommandInput = Partial<Command> & { command: string };

/** A Command with defaults for the fields not given. */
function fullCommand(command: CommandInput): Command {
  return { uuid: '', payload: '{}', timeout_ms: 0, target: '', major: '', context: {}, product: '', ...command };
}

/** SendCommand with defaults for the fields not given. */
export function sendCommand(client: Client, command: CommandInput, token: string | undefined): Promise<Reply> {
  const request = fullCommand(command);
  const deadline = (request.timeout_ms || 30_000) + 5_000;
  return unary<Reply>(client, 'SendCommand', request, token, deadline);
}

/** A SendCommands stream written by hand: each write is one CommandBatch, replies are matched back by uuid. */
export class RawCommandStream {
  readonly call: ClientDuplexStream<CommandBatch, ReplyBatch>;
  /** Every ReplyBatch received, in order. */
  readonly batches: Reply[][] = [];
  readonly status: Promise<StatusObject>;
  private readonly waiting = new Map<string, Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }>>();
  /** Commands sent without a uuid: the router names them, so they take the replies no uuid of ours matches, in order. */
  private readonly unnamed: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];

  constructor(client: Client, token: string | undefined) {
    const open = (client as unknown as { SendCommands: (md: Metadata) => ClientDuplexStream<CommandBatch, ReplyBatch> }).SendCommands;
    this.call = open.call(client, bearer(token));
    this.call.on('data', (batch: ReplyBatch) => {
      this.batches.push(batch.replies);
      for (const reply of batch.replies) this.deliver(reply);
    });
    this.call.on('error', () => undefined);
    this.status = new Promise((resolve) => this.call.on('status', resolve));
    void this.status.then((s) => {
      // as a unary call's ServiceError: code and details of the status the stream ended with
      const error = Object.assign(new Error(s.details || 'the stream ended before this reply'), { code: s.code, details: s.details });
      for (const w of [...this.unnamed.splice(0), ...[...this.waiting.values()].flat()]) w.reject(error);
      this.waiting.clear();
    });
  }

  /** Writes the commands as one CommandBatch; one promise of a Reply per command, in order. */
  sendBatch(commands: CommandInput[]): Array<Promise<Reply>> {
    const full = commands.map(fullCommand);
    const replies = full.map((command) => new Promise<Reply>((resolve, reject) => {
      if (command.uuid === '') this.unnamed.push({ resolve, reject });
      else this.waiting.set(command.uuid, [...(this.waiting.get(command.uuid) ?? []), { resolve, reject }]);
    }));
    this.call.write({ commands: full });
    return replies;
  }

  send(command: CommandInput): Promise<Reply> {
    return this.sendBatch([command])[0]!;
  }

  private deliver(reply: Reply): void {
    const list = this.waiting.get(reply.uuid);
    const waiter = list?.shift() ?? this.unnamed.shift();
    if (list?.length === 0) this.waiting.delete(reply.uuid);
    waiter?.resolve(reply);
  }
}

/** How a test sends commands: unary SendCommand calls, or SendCommands streams. */
export type CommandPath = 'unary' | 'stream';

/** Sends commands through one path; on `stream`, one SendCommands stream per token, opened on first use. */
export class PathSender {
  private readonly streams = new Map<string | undefined, RawCommandStream>();

  constructor(
    private readonly client: Client,
    readonly path: CommandPath,
  ) {}

  /** The name a refusal of the whole call gives (`SendCommand needs …` / `SendCommands needs …`). */
  get rpc(): string {
    return this.path === 'unary' ? 'SendCommand' : 'SendCommands';
  }

  /**
   * On `stream`, a command without a uuid gets one here (as the SDK does: replies are matched by uuid); an explicit
   * `uuid: ''` goes as it is, for the router to name.
   */
  send(command: CommandInput, token: string | undefined): Promise<Reply> {
    if (this.path === 'unary') return sendCommand(this.client, command, token);
    let stream = this.streams.get(token);
    if (!stream) {
      stream = new RawCommandStream(this.client, token);
      this.streams.set(token, stream);
      // a stream the router ended (a refused bearer) is not reused: the next command opens another
      const opened = stream;
      void stream.status.then(() => this.streams.get(token) === opened && this.streams.delete(token));
    }
    return stream.send(command.uuid === undefined ? { ...command, uuid: randomUUID() } : command);
  }

  close(): void {
    for (const stream of this.streams.values()) stream.call.cancel();
    this.streams.clear();
  }
}

/** The gRPC error a promise rejects with (fails when it resolves). */
/** Polls ListWorkers until `predicate` holds for the router's own view (queued, in flight), up to `timeoutMs`. */
export async function untilListed(client: Client, token: string, predicate: (list: WorkerList) => boolean, timeoutMs = 15_000): Promise<WorkerList> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await unary<WorkerList>(client, 'ListWorkers', {}, token);
    if (predicate(list)) return list;
    if (Date.now() > deadline) throw new Error(`untilListed: not reached in ${timeoutMs} ms; last: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function grpcErrorOf(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected a gRPC error, the call succeeded');
}

/** A fresh one-time token. */
export function oneTimeToken(): string {
  return randomBytes(24).toString('hex');
}

/** Announces a worker (ExpectWorker with the admin token); returns its one-time token. */
export async function expectWorker(client: Client, adminToken: string, e: Partial<Expectation> & { identifier: string; version: string }, token = oneTimeToken()): Promise<string> {
  const expectation: Expectation = {
    type: 'utils', product: 'echo', token_sha256: sha256Hex(token), commands: [], command_schemas: {}, events: [], event_schemas: {}, ttl_ms: 0, ...e,
  };
  await unary(client, 'ExpectWorker', expectation, adminToken);
  return token;
}

type Handler = (command: Command, worker: RawWorker) => void | Promise<void>;

/** A worker (or the admin) on a Connect stream, written by hand. */
export class RawWorker {
  readonly call: ClientDuplexStream<WorkerMessage, RouterMessageIn>;
  readonly messages: RouterMessageIn[] = [];
  readonly commands: Command[] = [];
  readonly events: Event[] = [];
  readonly status: Promise<StatusObject>;
  readonly welcome: Promise<{ valid: boolean; reason: string; batching: boolean; event_batches: boolean }>;
  drained = false;
  private waiters: Array<() => void> = [];

  constructor(client: Client, private handler: Handler | undefined, bearerToken?: string) {
    const connect = (client as unknown as { Connect: (md: Metadata) => ClientDuplexStream<WorkerMessage, RouterMessageIn> }).Connect;
    this.call = connect.call(client, bearer(bearerToken));
    this.status = new Promise((resolve) => this.call.on('status', resolve));
    this.call.on('error', () => undefined);
    this.welcome = new Promise((resolve, reject) => {
      this.call.on('data', (m: RouterMessageIn) => {
        this.messages.push(m);
        if (m.kind === 'welcome' && m.welcome) resolve(m.welcome);
        // a batch (sent only after a Hello with batching) is its commands one by one
        for (const command of m.kind === 'command' && m.command ? [m.command] : m.kind === 'commands' ? (m.commands?.commands ?? []) : []) {
          this.commands.push(command);
          void this.handler?.(command, this);
        }
        if (m.kind === 'event' && m.event) this.events.push(m.event);
        if (m.kind === 'drain') this.drained = true;
        this.notify();
      });
      void this.status.then((s) => reject(new Error(`stream ended before Welcome: ${s.code} ${s.details}`)));
    });
    this.welcome.catch(() => undefined);
  }

  /** Sends a Hello. */
  hello(hello: Partial<Hello>): this {
    this.write({ hello: { identifier: '', token: '', type: 'utils', product: 'echo', version: '1.0', commands: [], events: [], topics: [], ...hello } });
    return this;
  }

  write(message: WorkerMessage): void {
    this.call.write(message);
  }

  reply(uuid: string, status: 'SUCCESS' | 'FAIL', payload: unknown = null, error = ''): void {
    this.write({ reply: { uuid, status, payload: JSON.stringify(payload), error } });
  }

  emit(event: string, payload: unknown, topic = ''): void {
    this.write({ event: { event, topic, payload: JSON.stringify(payload) } });
  }

  setHandler(handler: Handler | undefined): void {
    this.handler = handler;
  }

  /** Resolves once `predicate` holds (checked after every message). */
  async until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('RawWorker.until: timed out');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** An echo handler: SUCCESS with the payload it got. */
const echoHandler: Handler = (command, worker) => worker.reply(command.uuid, 'SUCCESS', JSON.parse(command.payload));

/** Announces and connects an echo-like worker; resolves once welcomed. */
export async function connectWorker(
  client: Client,
  adminToken: string,
  opts: {
    identifier: string; version?: string; commands: string[]; topics?: string[]; handler?: Handler;
    command_schemas?: Record<string, string>; event_schemas?: Record<string, string>;
    /** Says in its Hello that it takes several commands per message. */
    batching?: boolean;
  },
): Promise<RawWorker> {
  const version = opts.version ?? '1.0';
  const token = await expectWorker(client, adminToken, {
    identifier: opts.identifier, version, commands: opts.commands, command_schemas: opts.command_schemas ?? {}, event_schemas: opts.event_schemas ?? {},
  });
  const worker = new RawWorker(client, opts.handler ?? echoHandler);
  worker.hello({ identifier: opts.identifier, version, token, commands: opts.commands, topics: opts.topics ?? [], batching: opts.batching ?? false });
  const welcome = await worker.welcome;
  if (!welcome.valid) throw new Error(`worker refused: ${welcome.reason}`);
  return worker;
}

/** A WatchEvents stream collecting events; `ready` resolves once the router registered it. */
export class Watcher {
  readonly call: ClientReadableStream<Event>;
  readonly events: Event[] = [];
  readonly ready: Promise<void>;
  readonly status: Promise<StatusObject>;

  constructor(client: Client, filter: Partial<EventFilter>, token: string | undefined) {
    const watch = (client as unknown as { WatchEvents: (f: EventFilter, md: Metadata) => ClientReadableStream<Event> }).WatchEvents;
    this.call = watch.call(client, { topics: [], events: [], ...filter }, bearer(token));
    this.call.on('data', (e: Event) => this.events.push(e));
    this.call.on('error', () => undefined);
    this.status = new Promise((resolve) => this.call.on('status', resolve));
    this.ready = new Promise((resolve, reject) => {
      this.call.on('metadata', () => resolve());
      void this.status.then((s) => reject(new Error(`watch ended: ${s.code} ${s.details}`)));
    });
    this.ready.catch(() => undefined);
  }

  /** Resolves with the first event matching `predicate`. */
  async next(predicate: (e: Event) => boolean, timeoutMs = 10_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`Watcher.next: no matching event in ${timeoutMs} ms; got ${this.events.map((e) => `${e.topic}/${e.event}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  cancel(): void {
    this.call.cancel();
  }
}
