// Lets the young-generation collector reclaim a finished unary call (measured in BENCHMARKS.md, "A finished unary
// call's objects").
//
// grpc-js reads a call's request through 'data' and 'end' listeners on the call's HTTP/2 stream, and those listeners
// reach everything the call touched: grpc-js's call objects, the request, our pending command and its reply. Node
// frees a closed server stream whose last frames are still being written to the socket only at a full collection, and
// until then V8's young-generation collections treat the stream as alive: each command's objects were copied and
// promoted to the old generation (~5 KB per command through the router at 1,000 commands/s), which lengthened every
// scavenge and brought on more full collections. Once the stream has closed those listeners have nothing left to
// receive; dropping them leaves the stream itself (headers, trailers: ~2 KB) to wait for the full collection.

/** What this needs of an HTTP/2 stream (Node's ServerHttp2Stream is an EventEmitter). */
interface ClosableStream {
  on(event: 'close', listener: (this: ClosableStream) => void): unknown;
  removeAllListeners(event: 'data' | 'end'): unknown;
}

function isClosableStream(value: unknown): value is ClosableStream {
  const s = value as Partial<ClosableStream> | null | undefined;
  return typeof s?.on === 'function' && typeof s.removeAllListeners === 'function';
}

/**
 * The HTTP/2 stream under a grpc-js server call, or undefined. grpc-js does not expose it: a unary call object holds
 * its base call as `call`, and that holds the stream as `stream` (grpc-js 1.x; a test pins this for the installed
 * version, and where the shape differs nothing is released and nothing breaks).
 */
export function serverStreamOf(call: object): ClosableStream | undefined {
  const stream = (call as { call?: { stream?: unknown } }).call?.stream;
  return isClosableStream(stream) ? stream : undefined;
}

/** Drops the stream's 'data' and 'end' listeners once it has closed; false when the stream could not be found. */
export function releaseWhenClosed(call: object): boolean {
  const stream = serverStreamOf(call);
  if (!stream) return false;
  stream.on('close', release);
  return true;
}

/** One function for every stream ('close' comes once): no closure or once-wrapper per call to outlive the call. */
function release(this: ClosableStream): void {
  this.removeAllListeners('data');
  this.removeAllListeners('end');
}
