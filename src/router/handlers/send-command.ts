// SendCommand: admin or client token (ADMIN_* only with the admin token); exactly one Reply.
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import type { Command, Reply } from '../../proto/types.js';
import type { RouterContext } from '../context.js';
import { commandAccess, grpcError, refusal } from './refusals.js';
import { releaseWhenClosed } from './release-stream.js';

export function sendCommandHandler(ctx: RouterContext): handleUnaryCall<Command, Reply> {
  return (call, callback) => {
    releaseWhenClosed(call);
    const request = call.request;
    const refused = refusal(ctx, call.metadata, ...commandAccess('SendCommand', request.command));
    if (refused) {
      callback(refused);
      return;
    }
    ctx.commands.submitTo(
      request,
      false,
      (reply) => callback(null, reply),
      (error: unknown) => {
        ctx.logger.error({ err: error, command: request.command }, 'SendCommand failed inside the router');
        callback(grpcError(status.INTERNAL, `router error: ${(error as Error).message}`));
      },
    );
  };
}
