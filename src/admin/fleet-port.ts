// What an admin needs from its host's fleet (docs/fleet.md, desired state): which products the coordinator owns, and
// the handlers of the commands that act fleet-wide. Absent on a single host.
import type { ProductRef } from './payloads.js';
import type { Handler } from './commands/context.js';

export interface AdminFleet {
  /** This host's name in the fleet. */
  host: string;
  /** A product with a desired state: its instances are placed by the coordinator, not started or stopped by hand. */
  managed(ref: ProductRef): boolean;
  /**
   * ADMIN_* handlers the fleet serves: ADMIN_FLEET_* always; ADMIN_UPDATE, ADMIN_ROLLBACK and ADMIN_SET_UPDATE_MODE
   * for managed products (the admin's own handler serves every other product).
   */
  handlers: Record<string, Handler>;
}

/** The admin commands that act fleet-wide for a managed product instead of on this host. */
export const FLEET_WIDE_COMMANDS = ['ADMIN_UPDATE', 'ADMIN_ROLLBACK', 'ADMIN_SET_UPDATE_MODE'] as const;

/** `ADMIN_FLEET_*` commands act on the fleet itself: a host not in one answers them FAIL NOT_IN_FLEET. */
export const FLEET_COMMAND_PREFIX = 'ADMIN_FLEET_';
