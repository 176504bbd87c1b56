// TypeScript shapes of the workeradmin.v1 messages as src/proto/load.ts decodes them (OBJECT_OPTIONS).

export type Status = 'STATUS_UNSPECIFIED' | 'SUCCESS' | 'FAIL' | 'TIMEOUT' | 'NO_WORKER' | 'INVALID';

export interface Hello {
  identifier: string;
  token: string;
  type: string;
  product: string;
  version: string;
  commands: string[];
  events: string[];
  topics: string[];
  /** The admin's Hello only: the products (`type/product`) its configuration lists. */
  products: string[];
  /** It takes RouterMessage.commands (several commands in one message). */
  batching: boolean;
}
/** `batching`: the router takes WorkerMessage.replies; `event_batches`: WorkerMessage.events (several in one message). */
export interface Welcome { valid: boolean; reason: string; batching: boolean; event_batches: boolean }
export interface Command {
  uuid: string;
  command: string;
  payload: string;
  timeout_ms: number;
  target: string;
  major: string;
  context: Record<string, string>;
  /** Pins a product, `type/product` ('' = any). */
  product: string;
  /** The client library made `uuid` only to match the Reply and never sends it again: like a router-made one, no fleet-wide claim. */
  generated_uuid?: boolean;
}
export interface Reply { uuid: string; status: Status; payload: string; error: string; worker: string }
/** SendCommands, client → router: commands written in one turn of the client's event loop. */
export interface CommandBatch { commands: Command[] }
/** SendCommands, router → client: replies ready in one turn of the router's event loop. */
export interface ReplyBatch { replies: Reply[] }
export interface Event {
  uuid: string;
  topic: string;
  event: string;
  payload: string;
  reference_uuid: string;
  timestamp_ms: number;
  source: string;
}
export interface Heartbeat { timestamp_ms: number }
export interface Drain { reason: string }
export interface Ack { ok: boolean; message: string }
export type Empty = Record<string, never>;
export interface EventFilter { topics: string[]; events: string[] }
export interface Expectation {
  identifier: string;
  version: string;
  type: string;
  product: string;
  token_sha256: string;
  commands: string[];
  command_schemas: Record<string, string>;
  events: string[];
  event_schemas: Record<string, string>;
  ttl_ms: number;
}
/** `token_sha256` (optional): only the connection whose Hello used the token of that digest. */
export interface WorkerRef { identifier: string; version: string; token_sha256?: string }
export interface WorkerInfo {
  identifier: string;
  version: string;
  type: string;
  product: string;
  state: string;
  commands: string[];
  in_flight: number;
  connected_at_ms: number;
  topics: string[];
  admin: boolean;
  served: number;
}
export interface WorkerList { workers: WorkerInfo[]; queue_size: number; expected: string[] }
export interface ConfigurationKey { type: string; product: string; major: string; minor: string }
export interface StoredConfiguration {
  key: ConfigurationKey | null;
  found: boolean;
  layers_json: string;
  pivot_json: string;
  saved_at_ms: number;
}

/** One message on a worker's stream, as sent (oneof: exactly one field set). */
export type WorkerMessage =
  | { hello: Partial<Hello> }
  | { reply: Partial<Reply> }
  | { event: Partial<Event> }
  | { heartbeat: Partial<Heartbeat> }
  | { replies: { replies: Array<Partial<Reply>> } }
  | { events: { events: Array<Partial<Event>> } };

/** One message on a worker's stream, as received (`kind` names the set field). */
export interface RouterMessageIn {
  kind: 'welcome' | 'command' | 'drain' | 'event' | 'commands';
  welcome?: Welcome | null;
  command?: Command | null;
  commands?: { commands: Command[] } | null;
  drain?: Drain | null;
  event?: Event | null;
}
export interface WorkerMessageIn {
  kind: 'hello' | 'reply' | 'event' | 'heartbeat' | 'replies' | 'events';
  hello?: Hello | null;
  reply?: Reply | null;
  replies?: { replies: Reply[] } | null;
  event?: Event | null;
  events?: { events: Event[] } | null;
  heartbeat?: Heartbeat | null;
}
