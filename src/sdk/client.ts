// connectRouter (docs/protocol.md): a client's send / events / on / listWorkers over one channel.
import * as grpc from '@grpc/grpc-js';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { parseDuration } from '../common/units.js';
import type { Event, WorkerList } from '../proto/types.js';
import { iterateEvents } from './event-stream.js';
import { toEventMessage, toJsonText, toReplyResult } from './messages.js';
import { RouterPool, unarySender, type CommandSender } from './failover.js';
import { createRouterRpc, routerCallError, type RouterRpc } from './rpc.js';
import { StreamPool } from './stream-pool.js';
import type { EventMessage, RouterConnection, SendOptions, TlsOptions, WatchOptions } from './types.js';

/** Options of connectRouter. */
export interface ConnectOptions {
  /** A router, or several routers of one fleet: a command goes to the next one when its router cannot be reached. */
  address: string | string[];
  /** Client token (admin token for ADMIN_* commands). */
  token?: string;
  tls?: TlsOptions;
  /**
   * true (default): every send goes on a SendCommands stream, the commands of one turn of the event loop in one
   * message; false: one unary SendCommand call per send.
   */
  streaming?: boolean;
  /** SendCommands streams per router, 1–8 (default 2): another opens only while flow control holds the others. */
  streams?: number;
}

const MAX_STREAMS = 8;

/** How sends reach a router, from the options (checked once, before any channel exists). */
function senderFactory(options: ConnectOptions): (rpc: RouterRpc) => CommandSender {
  if (options.streaming === false) return unarySender;
  const streams = options.streams ?? 2;
  if (!Number.isInteger(streams) || streams < 1 || streams > MAX_STREAMS) {
    throw new WorkerAdminError('CONFIG_INVALID', `connectRouter: streams must be an integer from 1 to ${MAX_STREAMS}, not ${String(streams)}`);
  }
  return (rpc) => new StreamPool(rpc, streams);
}

/** An event watch the router confirmed: events published from now on reach it. */
export interface EventWatch extends AsyncIterable<EventMessage> {
  close(): void;
}

/** A RouterConnection that also exposes the low-level RouterRpc it uses. */
export interface RouterClient extends RouterConnection {
  readonly rpc: RouterRpc;
  /** Like events(), but resolves only once the router registered the watch (its response headers arrived). */
  watch(topics?: string | string[], options?: WatchOptions): Promise<EventWatch>;
}

/** Opens a client connection (lazily: the channel connects on the first call). */
export function connectRouter(options: ConnectOptions): RouterClient {
  const addresses = [options.address].flat();
  if (addresses.length === 0) throw new WorkerAdminError('ADDRESS_INVALID', 'connectRouter: give at least one router address');
  const sender = senderFactory(options);
  const rpcs = addresses.map((address) => createRouterRpc({ address, ...(options.token ? { token: options.token } : {}), ...(options.tls ? { tls: options.tls } : {}) }));
  const pool = new RouterPool(rpcs, rpcs.map(sender));
  const rpc = pool.preferred;
  const watches = new Set<grpc.ClientReadableStream<Event>>();
  const watch = (topics: string[], events: string[]): grpc.ClientReadableStream<Event> => {
    const call = rpc.watchEvents({ topics, events });
    watches.add(call);
    call.on('status', () => watches.delete(call));
    return call;
  };

  return {
    rpc,
    async send(command: string, payload: unknown = {}, opts: SendOptions = {}) {
      const reply = await pool.send({
        command,
        payload: toJsonText(payload, `the payload of ${command}`),
        timeout_ms: opts.timeout === undefined ? 0 : parseDuration(opts.timeout, 'timeout'),
        uuid: opts.uuid ?? '',
        target: opts.target ?? '',
        major: opts.major === undefined ? '' : String(opts.major),
        product: opts.product ?? '',
        context: opts.context ?? {},
      });
      return toReplyResult(reply);
    },
    events(topics: string | string[] = [], opts: WatchOptions = {}): AsyncIterable<EventMessage> {
      const list = typeof topics === 'string' ? [topics] : topics;
      // the call starts when iteration starts, so an unused iterable holds nothing open
      return { [Symbol.asyncIterator]: () => iterateEvents(watch(list, opts.events ?? []), rpc.address) };
    },
    async watch(topics: string | string[] = [], opts: WatchOptions = {}): Promise<EventWatch> {
      const call = watch(typeof topics === 'string' ? [topics] : topics, opts.events ?? []);
      await new Promise<void>((resolve, reject) => {
        call.once('metadata', () => resolve());
        call.once('error', (error: grpc.ServiceError) => reject(routerCallError('WatchEvents', rpc.address, error)));
      });
      const iterator = iterateEvents(call, rpc.address);
      return { [Symbol.asyncIterator]: () => iterator, close: () => call.cancel() };
    },
    on(eventName, handler, opts = {}) {
      const call = watch(opts.topics ?? [], [eventName]);
      call.on('data', (e: Event) => {
        try {
          handler(toEventMessage(e));
        } catch (error) {
          opts.onError?.(error instanceof Error ? error : new Error(errorMessage(error)));
        }
      });
      call.on('error', (error: Error & { code?: number }) => {
        if (error.code !== grpc.status.CANCELLED /* our own unsubscribe */) opts.onError?.(error);
      });
      return () => call.cancel();
    },
    listWorkers: (): Promise<WorkerList> => rpc.listWorkers(),
    close() {
      for (const call of watches) call.cancel();
      watches.clear();
      pool.close();
    },
  };
}
