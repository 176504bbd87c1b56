// The router's own code per command, without gRPC: the router's handlers (the ones its gRPC server calls) are
// driven in this process with plain call objects: SendCommand calls in rounds of --batch (with --streaming: one
// CommandBatch of --batch on a SendCommands stream per round), a Connect stream whose worker answers every command
// it is written. What is left is what the router adds to two gRPC legs: the bearer check, the command's checks, the
// uuid books, dispatch, the reply's checks, settle (and the stream's reply batches).
//   node bench/router-path.mjs [--commands 200000] [--batch 16] [--streaming] [--profile]   (after npm run build)
// Prints CPU and wall µs per command; --profile adds the V8 profile of the measured window (self time by function).
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { arg, summarizeCpuProfile } from './lib/profile.mjs';

const COMMANDS = arg('commands', 200_000);
const BATCH = arg('batch', 16);
const STREAMING = process.argv.includes('--streaming');
const PAYLOAD = JSON.stringify({ text: 'hello', n: 42 });

const { resolveRouterOptions } = await import('../dist/router/options.js');
const { createRouterCore } = await import('../dist/router/router-core.js');
const { createFileConfigurationStore } = await import('../dist/router/config-store.js');
const { createLogger } = await import('../dist/common/log.js');

const stateDir = mkdtempSync(join(tmpdir(), 'wa-bench-path-'));
try {
  const adminToken = 'a'.repeat(64);
  const core = await createRouterCore(resolveRouterOptions({ listen: '127.0.0.1:0', stateDir, adminToken }), createFileConfigurationStore(join(stateDir, 'store')), createLogger('router', { level: 'silent' }));
  const admin = new grpc.Metadata();
  admin.set('authorization', `Bearer ${adminToken}`);
  const unary = (name, request) => new Promise((resolve, reject) => core.service[name]({ request, metadata: admin }, (error, reply) => (error ? reject(error) : resolve(reply))));

  // the worker: announced, then a Connect stream whose writes are collected and answered by `round`
  const token = 'w'.repeat(48);
  await unary('ExpectWorker', { identifier: 'bench-echo', version: '1.0', type: 'bench', product: 'echo', token_sha256: createHash('sha256').update(token).digest('hex'), commands: ['ECHO'], command_schemas: {}, events: [], event_schemas: {}, ttl_ms: 0 });
  const written = [];
  const stream = Object.assign(new EventEmitter(), { metadata: new grpc.Metadata(), cancelled: false, write: (m) => written.push(m) > 0, end: () => undefined });
  core.service.Connect(stream);
  stream.emit('data', { kind: 'hello', hello: { identifier: 'bench-echo', version: '1.0', token, type: 'bench', product: 'echo', commands: ['ECHO'], topics: [], products: [], batching: true } });
  if (!written.some((m) => m.welcome?.valid)) throw new Error(`bench: the worker was not welcomed: ${JSON.stringify(written)}`);
  written.length = 0;

  let answered = 0;
  let failed = 0;
  const done = (error, reply) => {
    answered += 1;
    if (error || reply.status !== 'SUCCESS') failed += 1;
  };
  // a client's SendCommands stream: its reply batches are counted as they are written
  const client = Object.assign(new EventEmitter(), {
    metadata: admin, cancelled: false, end: () => undefined, pause: () => undefined, resume: () => undefined,
    write: (m) => {
      for (const reply of m.replies) done(null, reply);
      return true;
    },
  });
  if (STREAMING) core.service.SendCommands(client);

  /** `n` commands (uuids made by a client library, as connectRouter sends them), then the worker's replies. */
  const round = async (n) => {
    const commands = [];
    for (let i = 0; i < n; i += 1) {
      commands.push({ uuid: randomUUID(), command: 'ECHO', payload: PAYLOAD, timeout_ms: 0, target: '', major: '', product: '', context: {}, generated_uuid: true });
    }
    if (STREAMING) client.emit('data', { commands });
    else for (const request of commands) core.service.SendCommand({ request, metadata: admin }, done);
    for (const m of written.splice(0)) {
      for (const c of m.command ? [m.command] : m.commands.commands) {
        stream.emit('data', { kind: 'reply', reply: { uuid: c.uuid, status: 'SUCCESS', payload: c.payload, error: '', worker: '' } });
      }
    }
    // a stream's replies leave once per turn of the event loop
    if (STREAMING) await new Promise((resolve) => setImmediate(resolve));
  };

  for (let i = 0; i < COMMANDS / 10 / BATCH; i += 1) await round(BATCH); // warm-up: V8's optimizing tiers
  answered = 0;
  const profiler = process.argv.includes('--profile') ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 50 });
    await profiler.post('Profiler.start');
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < COMMANDS / BATCH; i += 1) await round(BATCH);
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - started;
  if (failed > 0) throw new Error(`bench: ${failed} of ${answered} commands were not answered SUCCESS`);
  console.log(`router path (${STREAMING ? 'SendCommands' : 'SendCommand'}): ${answered} commands in rounds of ${BATCH}: ${((used.user + used.system) / answered).toFixed(2)} µs CPU, ${((wallMs * 1000) / answered).toFixed(2)} µs wall per command`);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    console.table(summarizeCpuProfile(profile, 20).functions);
  }
  await core.shutdown(0);
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
