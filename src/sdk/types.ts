// Public types of the worker SDK and router client (`worker-admin/sdk`, docs/protocol.md).
import type { Status } from '../proto/types.js';

/**
 * What a command handler gets besides the payload. `signal` aborts when the worker stops or the command's timeout
 * passes, while the command runs: once its reply is sent the command is over and the signal no longer changes.
 */
export interface CommandContext {
  uuid: string;
  command: string;
  signal: AbortSignal;
}

/** A command handler: its return value is the SUCCESS payload (JSON), a throw is FAIL with the message. */
export type CommandHandler = (payload: unknown, ctx: CommandContext) => unknown | Promise<unknown>;

/** An event as the SDK hands it out: the proto Event with `payload` parsed (null when empty or not JSON). */
export interface EventMessage {
  uuid: string;
  topic: string;
  event: string;
  payload: unknown;
  referenceUuid: string;
  timestampMs: number;
  source: string;
  /** The payload JSON text as received. */
  rawPayload: string;
}

/** A handler for events of a subscribed topic. */
export type TopicHandler = (event: EventMessage) => void | Promise<void>;

/** PEM text (not paths) for TLS to a TCP router. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Options of startWorker. */
export interface WorkerOptions {
  commands: Record<string, CommandHandler>;
  /** Names of the events this worker emits (announced in Hello). */
  events?: string[];
  /** topic → handler: the worker subscribes to these topics. */
  topics?: Record<string, TopicHandler>;
  /** Where the start line comes from (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** How the worker ends the process (default process.exit); tests inject their own. */
  exit?: (code: number) => void;
  /** Where the SDK writes why it exits (default process.stderr). */
  stderr?: { write(text: string): unknown };
  /** Signals that start a drain (default SIGTERM and SIGINT); [] installs no handler. */
  signals?: NodeJS.Signals[];
  /** Heartbeat period in ms (default 10 s). */
  heartbeatMs?: number;
  /** How long to wait for the router's Welcome, in ms (default 30 s). */
  helloTimeoutMs?: number;
}

/** Life of a worker: documented union, every transition goes through one guarded setter. */
export type WorkerState = 'CONNECTING' | 'READY' | 'DRAINING' | 'CLOSING' | 'CLOSED' | 'FAILED';

/** Options of emit. */
export interface EmitOptions {
  /** Default `{type}/{product}`. */
  topic?: string;
  /** The uuid of the command or event this one answers. */
  referenceUuid?: string;
}

/** What startWorker resolves to once the router welcomed the worker. */
export interface RunningWorker {
  readonly identifier: string;
  readonly version: string;
  readonly type: string;
  readonly product: string;
  readonly target: string;
  readonly config: Record<string, unknown>;
  readonly state: WorkerState;
  /** Sends an event on the worker's stream; resolves once written (after backpressure clears). */
  emit(event: string, payload?: unknown, options?: EmitOptions): Promise<void>;
  /** Reports an error to the admin: event WORKER_ERROR on topic `admin` (Area's OnError). */
  reportError(message: string, options?: { isAuthError?: boolean }): Promise<void>;
  /** Drains as if the router asked: nothing new, in-flight replies sent, stream closed, then exit 0. */
  drain(reason?: string): Promise<number>;
  /** Settles with the exit code once the worker is done (before `exit` is called). */
  readonly closed: Promise<number>;
}

/** Options of RouterConnection.send. */
export interface SendOptions {
  /** Milliseconds or a duration ("30s"); default 30 s, 10 min for ADMIN_*. */
  timeout?: number | string;
  /** Pins an instance identifier. */
  target?: string;
  /** Pins a major version. */
  major?: string | number;
  /** Pins a product, "type/product": needed when several products serve the command (AMBIGUOUS_COMMAND). */
  product?: string;
  /** Reuse a uuid to replay a command (same reply, one execution). */
  uuid?: string;
  context?: Record<string, string>;
}

/** A Reply with `payload` parsed (null when empty); the JSON text stays in `rawPayload`. */
export interface ReplyResult {
  uuid: string;
  status: Status;
  payload: unknown;
  error: string;
  worker: string;
  rawPayload: string;
}

/** Options of RouterConnection.events. */
export interface WatchOptions {
  /** Only these event names (default every event). */
  events?: string[];
}

/** A client's connection to the router (connectRouter). */
export interface RouterConnection {
  /** Sends a command and resolves with its one Reply (whatever the status); rejects only on gRPC errors. */
  send(command: string, payload?: unknown, options?: SendOptions): Promise<ReplyResult>;
  /** Events of these topics (every topic when empty), until the loop breaks or close(). */
  events(topics?: string | string[], options?: WatchOptions): AsyncIterable<EventMessage>;
  /** Calls `handler` for each event named `eventName` (any topic); returns the unsubscribe function. */
  on(eventName: string, handler: (event: EventMessage) => void, options?: { topics?: string[]; onError?: (error: Error) => void }): () => void;
  listWorkers(): Promise<import('../proto/types.js').WorkerList>;
  /** Ends every watch and the channel. Idempotent. */
  close(): void;
}
