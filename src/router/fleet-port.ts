// What a fleet may do with the router it attached to: hand it commands and events from other hosts, follow its workers.
import type { Command, Event, Reply, WorkerInfo } from '../proto/types.js';
import type { RouterContext } from './context.js';
import type { EventInterest } from './events-hub.js';
import type { FleetLink } from './fleet-link.js';
import type { PendingCommand } from './pending.js';

export interface RouterFleetPort {
  /** A command another host sent: its Reply, or undefined when no local worker can take it now (bounce). */
  takeCommand(command: Command, batched: boolean): Promise<Reply> | undefined;
  /** The answer of the host a REMOTE command went to (or HOST_LOST / TRANSPORT_LOST). */
  settleRemote(pending: PendingCommand, reply: Reply): void;
  /** The host a REMOTE command went to never ran it: dispatch it again. */
  requeue(pending: PendingCommand): void;
  /** Other hosts' candidates changed: serve what waits in the queue. */
  pump(): void;
  /** An event published on another host, for this host's watchers and workers. */
  deliverEvent(event: Event): void;
  /** This router's connections (READY or DRAINING), the admin's included. */
  workers(): WorkerInfo[];
  /** Products whose workers are expected (started, not connected yet), with the commands they will serve. */
  expected(): Array<{ product: string; commands: string[] }>;
  /** Called after any change of the local workers. */
  onWorkersChanged(listener: () => void): void;
  /** The topics this host's watchers and subscribed workers want from other hosts. */
  eventInterest(): EventInterest;
  /**
   * Called after that interest may have changed (a watcher or a worker came or went). A new watcher says it is
   * registered once the promise `listener` returns for it settles (other hosts' events for it reach this host).
   */
  onEventInterestChanged(listener: () => void | Promise<void>): void;
}

/** Attaches `link` to the router of `ctx` and returns the router's side of the bargain. */
export function fleetPort(ctx: RouterContext, link: FleetLink): RouterFleetPort {
  ctx.commands.attachFleet(link);
  if (link.store) ctx.store = link.store(ctx.store);
  ctx.hub.attachFleet(link.host, (event) => link.forwardEvent(event));
  return {
    takeCommand: (command, batched) => ctx.commands.takeFromFleet(command, batched),
    settleRemote: (pending, reply) => ctx.commands.settleRemote(pending, reply),
    requeue: (pending) => ctx.commands.requeue(pending),
    pump: () => ctx.commands.pump(),
    deliverEvent: (event) => ctx.hub.deliverFromFleet(event),
    workers: () => ctx.registry.infos(),
    expected: () => ctx.expectations.products(),
    onWorkersChanged: (listener) => ctx.registry.onChange(listener),
    eventInterest: () => ctx.hub.interest(),
    onEventInterestChanged: (listener) => {
      ctx.registry.onChange(() => void listener());
      ctx.hub.onWatchersChanged(listener);
    },
  };
}
