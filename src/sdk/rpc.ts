// Low-level typed client of the Router service: one channel, bearer metadata, promisified unary calls.
import * as grpc from '@grpc/grpc-js';
import { WorkerAdminError } from '../common/errors.js';
import { formatAddress, parseAddress } from '../common/address.js';
import { routerClientConstructor } from '../proto/load.js';
import { MESSAGE_BYTES } from '../proto/sizes.js';
import type {
  Ack, Command, CommandBatch, ConfigurationKey, Event, EventFilter, Expectation, Reply, ReplyBatch, RouterMessageIn,
  StoredConfiguration, WorkerList, WorkerMessage, WorkerRef,
} from '../proto/types.js';
import type { TlsOptions } from './types.js';

/** Default command timeouts of docs/protocol.md (the router applies the same when timeout_ms is 0). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
export const DEFAULT_ADMIN_COMMAND_TIMEOUT_MS = 600_000;
/** The gRPC deadline runs this much past timeout_ms so the Reply, not DEADLINE_EXCEEDED, tells the outcome. */
const DEADLINE_MARGIN_MS = 5_000;
/** Unary calls other than SendCommand: a router that does not answer within this is broken. */
const UNARY_DEADLINE_MS = 30_000;

/** Options of createRouterRpc. */
interface RouterRpcOptions {
  address: string;
  /** Bearer token (admin or client); workers connect without one. */
  token?: string;
  tls?: TlsOptions;
}

/** The Router service as promises and typed streams. */
export interface RouterRpc {
  readonly address: string;
  sendCommand(c: Partial<Command>, opts?: { deadlineMs?: number }): Promise<Reply>;
  /** A SendCommands stream (docs/protocol.md): CommandBatch out, ReplyBatch in. */
  sendCommands(): grpc.ClientDuplexStream<CommandBatch, ReplyBatch>;
  sendEvent(e: Partial<Event>): Promise<Ack>;
  watchEvents(filter: Partial<EventFilter>): grpc.ClientReadableStream<Event>;
  getConfiguration(k: ConfigurationKey): Promise<StoredConfiguration>;
  saveConfiguration(c: StoredConfiguration): Promise<Ack>;
  expectWorker(e: Partial<Expectation>): Promise<Ack>;
  drainWorker(r: WorkerRef): Promise<Ack>;
  listWorkers(): Promise<WorkerList>;
  connect(): grpc.ClientDuplexStream<WorkerMessage, RouterMessageIn>;
  close(): void;
}

type UnaryMethod = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
type DynamicClient = grpc.Client & Record<string, unknown>;

/** The default gRPC deadline of a command: its timeout (or the default) plus the margin. */
export function commandDeadlineMs(c: Partial<Command>): number {
  const timeout = c.timeout_ms && c.timeout_ms > 0
    ? c.timeout_ms
    : (c.command ?? '').startsWith('ADMIN_') ? DEFAULT_ADMIN_COMMAND_TIMEOUT_MS : DEFAULT_COMMAND_TIMEOUT_MS;
  return timeout + DEADLINE_MARGIN_MS;
}

/** Channel credentials: TLS when PEM text is given, plaintext otherwise (unix sockets, loopback). */
function channelCredentials(tls: TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const buf = (v: string | undefined): Buffer | null => (v === undefined ? null : Buffer.from(v));
  return grpc.credentials.createSsl(buf(tls.ca), buf(tls.key), buf(tls.cert));
}

/** A failed call as the SDK reports it: AUTH_INVALID or ROUTER_ERROR naming the call, the router and the gRPC status. */
export function routerCallFailure(method: string, address: string, grpcCode: grpc.status, details: string, cause?: unknown): WorkerAdminError {
  const code = grpcCode === grpc.status.UNAUTHENTICATED ? 'AUTH_INVALID' : 'ROUTER_ERROR';
  const name = grpc.status[grpcCode] ?? String(grpcCode);
  return new WorkerAdminError(code, `router ${address}: ${method} failed with ${name}: ${details}`, { cause, details: { grpcCode } });
}

/** A wrapped gRPC failure whose message names the call and the router. */
export function routerCallError(method: string, address: string, error: grpc.ServiceError): WorkerAdminError {
  return routerCallFailure(method, address, error.code, error.details || error.message, error);
}

/** Creates the typed client; the channel connects lazily on the first call. */
export function createRouterRpc(opts: RouterRpcOptions): RouterRpc {
  const address = formatAddress(parseAddress(opts.address));
  const Ctor = routerClientConstructor();
  const client = new Ctor(address, channelCredentials(opts.tls), {
    // the server caps messages at 4 MiB; so do we, so an oversize message fails here, named
    'grpc.max_send_message_length': MESSAGE_BYTES,
    'grpc.max_receive_message_length': MESSAGE_BYTES,
    // channelz (gRPC's introspection service, never served to this client) would count every call and message
    'grpc.enable_channelz': 0,
  }) as DynamicClient;

  const metadata = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (opts.token) md.set('authorization', `Bearer ${opts.token}`);
    return md;
  };

  const unary = <T>(method: string, req: unknown, deadlineMs = UNARY_DEADLINE_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fn = client[method] as UnaryMethod;
      fn.call(client, req, metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(routerCallError(method, address, err));
        else resolve(res as T);
      });
    });

  return {
    address,
    sendCommand: (c, o) => unary<Reply>('SendCommand', c, o?.deadlineMs ?? commandDeadlineMs(c)),
    sendCommands: () =>
      (client['SendCommands'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<CommandBatch, ReplyBatch>).call(client, metadata()),
    sendEvent: (e) => unary<Ack>('SendEvent', e),
    watchEvents: (filter) =>
      (client['WatchEvents'] as (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<Event>).call(client, filter, metadata()),
    getConfiguration: (k) => unary<StoredConfiguration>('GetConfiguration', k),
    saveConfiguration: (c) => unary<Ack>('SaveConfiguration', c),
    expectWorker: (e) => unary<Ack>('ExpectWorker', e),
    drainWorker: (r) => unary<Ack>('DrainWorker', r),
    listWorkers: () => unary<WorkerList>('ListWorkers', {}),
    connect: () =>
      (client['Connect'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<WorkerMessage, RouterMessageIn>).call(client, metadata()),
    close: () => client.close(),
  };
}
