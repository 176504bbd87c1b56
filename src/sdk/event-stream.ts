// WatchEvents as an async iterable: cancels the gRPC call when the loop stops, ends quietly on CANCELLED.
import * as grpc from '@grpc/grpc-js';
import type { Event } from '../proto/types.js';
import { toEventMessage } from './messages.js';
import { routerCallError } from './rpc.js';
import type { EventMessage } from './types.js';

/** Iterates the events of `call`; a router error (other than our own cancel) is thrown from the loop. */
export async function* iterateEvents(call: grpc.ClientReadableStream<Event>, address: string): AsyncGenerator<EventMessage> {
  try {
    for await (const e of call as AsyncIterable<Event>) yield toEventMessage(e);
  } catch (error) {
    const err = error as grpc.ServiceError;
    if (err.code === grpc.status.CANCELLED) return;
    throw typeof err.code === 'number' ? routerCallError('WatchEvents', address, err) : error;
  } finally {
    call.cancel();
  }
}
