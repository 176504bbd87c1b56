// A router written by hand on real gRPC (TCP port 0), Connect only: welcomes the Hello saying `batching` or not, and
// records what the worker sends, so tests see the exact messages on the wire.
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { routerServiceDefinition } from '../../src/proto/load.js';
import type { Command, Event, Reply, RouterMessageIn, WorkerMessageIn } from '../../src/proto/types.js';

type Out = Partial<RouterMessageIn>;

/** A Connect-only router: welcomes the Hello (saying `batching`), records what the worker sends. */
export class HandRouter {
  readonly server = new Server();
  readonly received: WorkerMessageIn[] = [];
  call: ServerDuplexStream<WorkerMessageIn, Out> | undefined;
  halfClosed = false;
  address = '';
  private waiters: Array<() => void> = [];

  constructor(
    private readonly batching: boolean,
    private readonly eventBatches = false,
  ) {
    this.server.addService(routerServiceDefinition(), {
      Connect: (call: ServerDuplexStream<WorkerMessageIn, Out>) => {
        this.call = call;
        call.on('data', (m: WorkerMessageIn) => {
          this.received.push(m);
          if (m.kind === 'hello') call.write({ welcome: { valid: true, reason: '', batching: this.batching, event_batches: this.eventBatches } });
          this.notify();
        });
        call.on('end', () => {
          this.halfClosed = true;
          call.end();
          this.notify();
        });
        call.on('error', () => undefined);
      },
    });
  }

  async start(): Promise<this> {
    const port = await new Promise<number>((resolve, reject) => this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    this.address = `127.0.0.1:${port}`;
    return this;
  }

  /** Every reply received so far, in order, from single and batched messages. */
  replies(): Reply[] {
    return this.received.flatMap((m) => (m.kind === 'reply' && m.reply ? [m.reply] : m.kind === 'replies' ? (m.replies?.replies ?? []) : []));
  }

  /** Every event received so far, in order, from single and batched messages. */
  events(): Event[] {
    return this.received.flatMap((m) => (m.kind === 'event' && m.event ? [m.event] : m.kind === 'events' ? (m.events?.events ?? []) : []));
  }

  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A Command with defaults. */
export const handCommand = (uuid: string, name: string, payload: unknown): Command => ({ uuid, command: name, payload: JSON.stringify(payload), timeout_ms: 30_000, target: '', major: '', context: {}, product: '' });
