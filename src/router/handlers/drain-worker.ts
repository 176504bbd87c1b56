// DrainWorker (admin): the connections go DRAINING (nothing new) and are sent Drain.
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { Ack, WorkerRef } from '../../proto/types.js';
import type { RouterContext } from '../context.js';
import { refusal } from './refusals.js';

export function drainWorkerHandler(ctx: RouterContext): handleUnaryCall<WorkerRef, Ack> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin'], 'DrainWorker');
    if (refused) return callback(refused);
    const { identifier, version } = call.request;
    // a token digest picks one stream: a version re-published in place runs old and new bytes under one IDENTIFIER@VERSION
    const token = (call.request.token_sha256 ?? '').toLowerCase();
    const found = ctx.registry.find(identifier, version).filter((c) => token === '' || c.identity.tokenSha256 === token);
    for (const connection of found) {
      if (connection.state !== 'READY') continue;
      connection.transition('DRAINING', 'DrainWorker');
      connection.writer.send({ drain: { reason: 'DrainWorker' } });
    }
    const names = found.map((c) => c.name);
    const what = `${version === '' ? identifier : `${identifier}@${version}`}${token === '' ? '' : ` opened with token sha256 ${token.slice(0, 12)}…`}`;
    callback(null, found.length > 0 ? { ok: true, message: `draining ${names.join(', ')}` } : { ok: false, message: `no connected worker ${what}` });
  };
}
