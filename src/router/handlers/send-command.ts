// SendCommand: admin or client token (ADMIN_* only with the admin token); exactly one Reply.
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import type { Command, Reply } from '../../proto/types.js';
import { ADMIN_PREFIX } from '../commands.js';
import type { RouterContext } from '../context.js';
import { grpcError, refusal } from './refusals.js';

export function sendCommandHandler(ctx: RouterContext): handleUnaryCall<Command, Reply> {
  return (call, callback) => {
    const request = call.request;
    const isAdminCommand = request.command.startsWith(ADMIN_PREFIX);
    const refused = refusal(ctx, call.metadata, isAdminCommand ? ['admin'] : ['admin', 'client'], isAdminCommand ? `SendCommand ${request.command}` : 'SendCommand');
    if (refused) {
      callback(refused);
      return;
    }
    ctx.commands.submit(request).then(
      (reply) => callback(null, reply),
      (error: unknown) => {
        ctx.logger.error({ err: error, command: request.command }, 'SendCommand failed inside the router');
        callback(grpcError(status.INTERNAL, `router error: ${(error as Error).message}`));
      },
    );
  };
}
