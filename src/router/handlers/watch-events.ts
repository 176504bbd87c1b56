// WatchEvents: a server stream of the events matching a filter; headers are sent once the watch is registered.
import { Metadata, type handleServerStreamingCall } from '@grpc/grpc-js';
import type { Event, EventFilter } from '../../proto/types.js';
import type { RouterContext } from '../context.js';
import { StreamWriter } from '../writer.js';
import { refusal } from './refusals.js';

/** Events a watcher may have waiting before it counts as too slow and its stream is ended. */
const WATCHER_BACKLOG = 10_000;

export function watchEventsHandler(ctx: RouterContext): handleServerStreamingCall<EventFilter, Event> {
  return (call) => {
    const refused = refusal(ctx, call.metadata, ['admin', 'client'], 'WatchEvents');
    if (refused) {
      call.emit('error', refused);
      return;
    }
    const writer = new StreamWriter<Event>(call, { congestedAt: WATCHER_BACKLOG });
    const { unwatch, reaching } = ctx.hub.watch(call.request, writer);
    call.on('cancelled', unwatch);
    call.on('close', unwatch);
    call.on('error', unwatch);
    // Response headers tell the client that events published from now on reach it, on any host of a fleet: there,
    // once nats-server has this host's subscriptions to the topics it wants (docs/fleet.md, events).
    if (reaching === undefined) call.sendMetadata(new Metadata());
    else void reaching.then(() => writer.closed || call.sendMetadata(new Metadata()));
  };
}
