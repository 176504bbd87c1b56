// The admin's own stream to the router: registers ADMIN_* commands, answers them, publishes `admin` events,
// and hears the `router` topic (WORKER_REGISTERED / WORKER_VERIFY_ERROR / WORKER_DISCONNECTED).
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/log.js';
import { errorMessage } from '../common/errors.js';
import { createRouterRpc, type RouterRpc } from '../sdk/rpc.js';
import type { TlsOptions } from '../sdk/types.js';
import type { Command, Event, RouterMessageIn, Status, WorkerMessage } from '../proto/types.js';

/** What a command handler answers: the admin may say INVALID itself (bad payload). */
export interface AdminReply { status: Extract<Status, 'SUCCESS' | 'FAIL' | 'INVALID'>; payload?: unknown; error?: string }
type AdminCommandHandler = (command: Command) => Promise<AdminReply>;
export type RouterEventListener = (event: Event, payload: Record<string, unknown>) => void;

interface RouterLinkOptions {
  address: string;
  adminToken: string;
  tls?: TlsOptions;
  identity: { identifier: string; version: string };
  commands: string[];
  logger: Logger;
  /** Called for each command; never throws (errors become FAIL). */
  handle: AdminCommandHandler;
}

type LinkState = 'CONNECTING' | 'CONNECTED' | 'CLOSED';

/** The admin's connection: reconnects with backoff until closed. */
export class RouterLink {
  readonly rpc: RouterRpc;
  private state: LinkState = 'CONNECTING';
  private stream: grpc.ClientDuplexStream<WorkerMessage, RouterMessageIn> | undefined;
  private readonly listeners = new Set<RouterEventListener>();
  private readonly inFlight = new Set<Promise<void>>();
  private welcomed!: Promise<void>;
  private retryMs = 250;

  constructor(private readonly opts: RouterLinkOptions) {
    this.rpc = createRouterRpc({ address: opts.address, token: opts.adminToken, ...(opts.tls ? { tls: opts.tls } : {}) });
  }

  /** Connects and resolves once the router welcomed the admin (rejects on refusal). */
  start(): Promise<void> {
    this.welcomed = this.open();
    return this.welcomed;
  }

  /** Subscribes to `router` topic events; returns the unsubscribe function. */
  onRouterEvent(listener: RouterEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Publishes an event on topic `admin` (best effort: a lost router loses the event, not the admin). */
  publish(event: string, payload: Record<string, unknown>): void {
    const message: WorkerMessage = { event: { uuid: randomUUID(), topic: 'admin', event, payload: JSON.stringify(payload), timestamp_ms: Date.now() } };
    if (this.state === 'CONNECTED' && this.stream) this.stream.write(message);
    else this.opts.logger.warn({ event, payload }, 'router not connected: admin event not published');
  }

  /** Stops answering, waits for handlers in flight, closes the stream. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'CLOSED') return;
    this.state = 'CLOSED';
    await Promise.allSettled([...this.inFlight]);
    this.stream?.end();
    this.stream?.cancel();
    this.rpc.close();
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stream = this.rpc.connect();
      this.stream = stream;
      let welcomed = false;
      stream.on('data', (message: RouterMessageIn) => {
        if (message.kind === 'welcome' && message.welcome) {
          if (message.welcome.valid) {
            welcomed = true;
            this.state = 'CONNECTED';
            this.retryMs = 250;
            this.opts.logger.info({ router: this.opts.address }, 'admin connected to router');
            resolve();
          } else {
            reject(new Error(`router refused the admin: ${message.welcome.reason}`));
          }
        } else if (message.kind === 'command' && message.command) {
          this.run(message.command);
        } else if (message.kind === 'event' && message.event) {
          this.dispatchEvent(message.event);
        }
      });
      stream.on('error', (error: Error) => {
        if (!welcomed) reject(error);
        else if (this.state !== 'CLOSED') this.opts.logger.warn({ err: errorMessage(error) }, 'admin stream to router failed');
      });
      stream.on('end', () => this.onEnd(welcomed));
      stream.on('close', () => this.onEnd(welcomed));
      stream.write({
        hello: {
          identifier: this.opts.identity.identifier, token: '', type: 'admin', product: 'admin',
          version: this.opts.identity.version, commands: this.opts.commands, events: [], topics: ['router'],
        },
      });
    });
  }

  private ended = new WeakSet<object>();
  private onEnd(wasWelcomed: boolean): void {
    const stream = this.stream;
    if (!stream || this.ended.has(stream)) return;
    this.ended.add(stream);
    if (this.state === 'CLOSED' || !wasWelcomed) return;
    this.state = 'CONNECTING';
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
    this.opts.logger.warn({ retryInMs: delay }, 'admin lost its router stream: reconnecting');
    setTimeout(() => {
      if (this.state === 'CLOSED') return;
      this.open().catch((error: unknown) => {
        this.opts.logger.warn({ err: errorMessage(error) }, 'admin reconnect failed');
        this.onEnd(true);
      });
    }, delay).unref();
  }

  private dispatchEvent(event: Event): void {
    let payload: Record<string, unknown> = {};
    try {
      payload = JSON.parse(event.payload || '{}') as Record<string, unknown>;
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(event, payload);
  }

  private run(command: Command): void {
    const task = this.opts.handle(command)
      .catch((error: unknown): AdminReply => ({ status: 'FAIL', error: errorMessage(error) }))
      .then((reply) => {
        const stream = this.stream;
        if (!stream || this.state === 'CLOSED' && !stream.writable) return;
        stream.write({
          reply: {
            uuid: command.uuid, status: reply.status,
            payload: reply.payload === undefined ? '' : JSON.stringify(reply.payload), error: reply.error ?? '',
          },
        });
      });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }
}
