// ListWorkers (admin or client): connections, queue size, expected workers.
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Empty, WorkerList } from '../../proto/types.js';
import type { RouterContext } from '../context.js';
import { refusal } from './refusals.js';

export function listWorkersHandler(ctx: RouterContext): handleUnaryCall<Empty, WorkerList> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin', 'client'], 'ListWorkers');
    if (refused) return callback(refused);
    callback(null, { workers: ctx.registry.infos(), queue_size: ctx.queue.size, expected: ctx.expectations.expected() });
  };
}
