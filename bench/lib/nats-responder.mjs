// The bare NATS side of a comparison, run as its own process (`node bench/lib/nats-responder.mjs`, env BENCH_NATS):
// a responder in queue group `bench` on subject `bench.echo` that JSON-parses and stringifies each request, as a
// worker's SDK does with a payload; prints one JSON line once subscribed.
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.BENCH_NATS, noEcho: true });
const decoder = new TextDecoder();
const encoder = new TextEncoder();
nc.subscribe('bench.echo', { queue: 'bench', callback: (_err, msg) => msg.respond(encoder.encode(JSON.stringify(JSON.parse(decoder.decode(msg.data))))) });
await nc.flush();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
