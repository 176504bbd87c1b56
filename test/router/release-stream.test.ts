// A finished unary call's HTTP/2 stream lets go of grpc-js's listeners (src/router/handlers/release-stream.ts), with
// the installed grpc-js over a real loopback connection: if grpc-js moves the stream, the lookup test fails here
// rather than the release silently doing nothing.
import { EventEmitter } from 'node:events';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseWhenClosed, serverStreamOf } from '../../src/router/handlers/release-stream.js';

const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const service: ServiceDefinition = {
  Released: { path: '/t.T/Released', requestStream: false, responseStream: false, ...bytes },
  Kept: { path: '/t.T/Kept', requestStream: false, responseStream: false, ...bytes },
};

interface Seen { found: boolean; closed: Promise<{ data: number; end: number }> }

/** A server whose two methods echo; `Released` releases its stream. Each call reports the stream's listeners after close. */
async function echoServer(seen: Seen[]): Promise<{ address: string; server: Server }> {
  const server = new Server();
  const handler = (release: boolean) => (call: object & { request: Buffer }, callback: (e: null, r: Buffer) => void) => {
    const stream = serverStreamOf(call) as EventEmitter | undefined;
    const found = release ? releaseWhenClosed(call) : stream !== undefined;
    // registered after the release's own listener, so it sees the stream as the release left it
    const closed = new Promise<{ data: number; end: number }>((resolve) => {
      stream?.once('close', () => resolve({ data: stream.listenerCount('data'), end: stream.listenerCount('end') }));
    });
    seen.push({ found, closed });
    callback(null, call.request);
  };
  server.addService(service, { Released: handler(true), Kept: handler(false) } as unknown as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, server };
}

describe('releaseWhenClosed', () => {
  const stops: Array<() => void> = [];
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });

  it('finds the stream under a grpc-js unary call and drops its data and end listeners once it has closed', async () => {
    const seen: Seen[] = [];
    const { address, server } = await echoServer(seen);
    stops.push(() => server.forceShutdown());
    const Client = makeGenericClientConstructor(service, 'T');
    const client = new Client(address, credentials.createInsecure()) as unknown as Record<string, (req: Buffer, cb: (e: Error | null, r?: Buffer) => void) => void> & { close(): void };
    stops.push(() => client.close());
    const call = (method: 'Released' | 'Kept') => new Promise<Buffer | undefined>((resolve, reject) => client[method]!(Buffer.from(method), (e, r) => (e ? reject(e) : resolve(r))));

    expect((await call('Kept'))?.toString()).toBe('Kept');
    expect((await call('Released'))?.toString()).toBe('Released');
    expect(seen.map((s) => s.found)).toEqual([true, true]);
    const [kept, released] = await Promise.all(seen.map((s) => s.closed));
    // grpc-js itself leaves them in place: what the release is for
    expect(kept!.data + kept!.end).toBeGreaterThan(0);
    expect(released).toEqual({ data: 0, end: 0 });
  });

  it('does nothing, and says so, for a call whose stream it cannot find', () => {
    expect(releaseWhenClosed({})).toBe(false);
    expect(releaseWhenClosed({ call: { stream: {} } })).toBe(false);
    expect(serverStreamOf({ call: { stream: new EventEmitter() } })).toBeInstanceOf(EventEmitter);
  });
});
