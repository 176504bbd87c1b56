// What a router needs from a fleet (docs/fleet.md): remote candidates for dispatch, fleet-wide replay, event fan-out.
// The router never imports the fleet: the fleet implements these and attaches itself to a running router.
import type { Event, Reply } from '../proto/types.js';
import type { ConfigurationStore } from './config-store.js';
import type { PendingCommand } from './pending.js';

/** Other hosts' instances as dispatch candidates. */
export interface RemoteRoute {
  /** `type/product` of every product other hosts run, expect or are configured for that declares `command`. */
  productsDeclaring(command: string): ReadonlySet<string>;
  /** Sends `pending` to another host's READY instance fitting its pins; false when none can take it now. */
  send(pending: PendingCommand): boolean;
  /** `pending` to the admin of `host` (target admin@HOST); false when that host is unknown or lost. */
  sendToAdmin(pending: PendingCommand, host: string): boolean;
  /** `pending` got its one reply (whatever the reason): forget where it was. */
  settled(pending: PendingCommand): void;
}

/** Fleet-wide replay of client-supplied uuids: `run` executes the command only when this router won the claim. */
export interface ReplayClaims {
  guard(uuid: string, fingerprint: string, timeoutMs: number, run: () => Promise<Reply>): Promise<Reply>;
}

export interface FleetLink {
  /** This host's name: stamped on `admin` and `router` event payloads. */
  readonly host: string;
  readonly remote: RemoteRoute;
  readonly claims: ReplayClaims;
  /** An event published on this host: send it to the other hosts. */
  forwardEvent(event: Event): void;
  /**
   * Local instances this router must not dispatch to now: a host FENCED from etcd (or back from a loss, before it has
   * stopped what is no longer its own) withholds its fleet-managed instances, which may run elsewhere by then.
   */
  withheld?: ((identifier: string) => boolean) | undefined;
  /** The fleet's configuration store, built around the router's own. */
  store?(local: ConfigurationStore): ConfigurationStore;
}
