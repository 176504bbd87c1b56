// SendEvent: a client (or the admin) publishes an event; topics `router` and (for clients) `admin` are reserved.
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { COMMAND_RE, TOPIC_RE, quoteName } from '../../common/names.js';
import type { Ack, Event } from '../../proto/types.js';
import type { RouterContext } from '../context.js';
import { ADMIN_TOPIC, ROUTER_TOPIC } from '../events-hub.js';
import { depthProblem } from '../json-depth.js';
import { grpcError, refusal } from './refusals.js';

export function sendEventHandler(ctx: RouterContext): handleUnaryCall<Event, Ack> {
  return (call, callback) => {
    const refused = refusal(ctx, call.metadata, ['admin', 'client'], 'SendEvent');
    if (refused) {
      callback(refused);
      return;
    }
    const isAdmin = ctx.tokens.callerOf(call.metadata) === 'admin';
    const e = call.request;
    const invalid = (details: string): void => callback(grpcError(status.INVALID_ARGUMENT, details));
    if (!COMMAND_RE.test(e.event)) return invalid(`event name ${quoteName(e.event)} is invalid: it must match ${COMMAND_RE.source}`);
    if (!TOPIC_RE.test(e.topic)) return invalid(`topic ${quoteName(e.topic)} is invalid: it must match ${TOPIC_RE.source}`);
    if (e.topic === ROUTER_TOPIC || (e.topic === ADMIN_TOPIC && !isAdmin)) {
      callback(grpcError(status.PERMISSION_DENIED, `topic ${e.topic} is reserved for the ${e.topic === ROUTER_TOPIC ? 'router' : 'admin'}`));
      return;
    }
    const payload = e.payload.trim() === '' ? '{}' : e.payload;
    const tooDeep = depthProblem(payload, ctx.options.limits.payloadDepth, `payload of event ${e.event}`);
    if (tooDeep) return invalid(`LIMIT_EXCEEDED: ${tooDeep}`);
    try {
      JSON.parse(payload);
    } catch (error) {
      return invalid(`payload of event ${e.event} is not JSON: ${(error as Error).message}`);
    }
    const published = ctx.hub.publish({ ...e, payload, source: isAdmin ? 'admin' : 'client' });
    callback(null, { ok: true, message: published.uuid });
  };
}
