// Admin-only unary calls: ExpectWorker, DrainWorker, Get/SaveConfiguration; and ListWorkers (admin or client).
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { errorMessage, isWorkerAdminError } from '../../common/errors.js';
import type { Ack, ConfigurationKey, Empty, Expectation, StoredConfiguration, WorkerList, WorkerRef } from '../../proto/types.js';
import { assertConfigurationKey } from '../config-store.js';
import type { RouterContext } from '../context.js';
import { grpcError, refusal } from './refusals.js';

export function expectWorkerHandler(ctx: RouterContext): handleUnaryCall<Expectation, Ack> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'ExpectWorker');
    if (refused) return callback(refused);
    try {
      const e = ctx.expectations.add(call.request);
      ctx.logger.info({ worker: `${e.identifier}@${e.version}`, commands: e.commands }, 'worker expected');
      callback(null, { ok: true, message: `${e.identifier}@${e.version} expected` });
    } catch (error) {
      callback(grpcError(isWorkerAdminError(error) ? status.INVALID_ARGUMENT : status.INTERNAL, errorMessage(error)));
    }
  };
}

export function drainWorkerHandler(ctx: RouterContext): handleUnaryCall<WorkerRef, Ack> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'DrainWorker');
    if (refused) return callback(refused);
    const { identifier, version } = call.request;
    const found = ctx.registry.find(identifier, version);
    for (const connection of found) {
      if (connection.state !== 'READY') continue;
      connection.transition('DRAINING', 'DrainWorker');
      connection.writer.send({ drain: { reason: 'DrainWorker' } });
    }
    const names = found.map((c) => c.name);
    const what = version === '' ? identifier : `${identifier}@${version}`;
    callback(null, found.length > 0 ? { ok: true, message: `draining ${names.join(', ')}` } : { ok: false, message: `no connected worker ${what}` });
  };
}

export function listWorkersHandler(ctx: RouterContext): handleUnaryCall<Empty, WorkerList> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin', 'client'], 'ListWorkers');
    if (refused) return callback(refused);
    callback(null, { workers: ctx.registry.infos(), queue_size: ctx.queue.size, expected: ctx.expectations.expected() });
  };
}

export function getConfigurationHandler(ctx: RouterContext): handleUnaryCall<ConfigurationKey, StoredConfiguration> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'GetConfiguration');
    if (refused) return callback(refused);
    let key: ConfigurationKey;
    try {
      key = assertConfigurationKey(call.request);
    } catch (error) {
      return callback(grpcError(status.INVALID_ARGUMENT, errorMessage(error)));
    }
    ctx.store.get(key).then(
      (stored) => callback(null, stored ?? { key, found: false, layers_json: '', pivot_json: '', saved_at_ms: 0 }),
      (error: unknown) => callback(grpcError(status.INTERNAL, `configuration store: ${errorMessage(error)}`)),
    );
  };
}

function jsonProblem(text: string, what: string): string | undefined {
  if (text === '') return undefined;
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `${what} is not JSON: ${(error as Error).message}`;
  }
}

export function saveConfigurationHandler(ctx: RouterContext): handleUnaryCall<StoredConfiguration, Ack> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'SaveConfiguration');
    if (refused) return callback(refused);
    let key: ConfigurationKey;
    try {
      key = assertConfigurationKey(call.request.key);
    } catch (error) {
      return callback(grpcError(status.INVALID_ARGUMENT, errorMessage(error)));
    }
    const problem = jsonProblem(call.request.layers_json, 'layers_json') ?? jsonProblem(call.request.pivot_json, 'pivot_json');
    if (problem) return callback(grpcError(status.INVALID_ARGUMENT, problem));
    const stored: StoredConfiguration = { ...call.request, key, found: true, saved_at_ms: ctx.now() };
    ctx.store.save(stored).then(
      () => {
        ctx.pivots.record(stored);
        callback(null, { ok: true, message: `${key.type}/${key.product} ${key.major}.${key.minor} saved` });
      },
      (error: unknown) => callback(grpcError(status.INTERNAL, `configuration store: ${errorMessage(error)}`)),
    );
  };
}
