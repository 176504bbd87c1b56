// ExpectWorker (admin): announces a worker — identity, one-time token digest, pivot commands and schemas.
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { errorMessage, isWorkerAdminError } from '../../common/errors.js';
import type { Ack, Expectation } from '../../proto/types.js';
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
