// What every ADMIN_* handler may use; built once in admin.ts.
import { WorkerAdminError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AdminConfig, ConnectorConfig } from '../../config/types.js';
import type { RepositoryClient } from '../../repository/client.js';
import type { VersionEntry } from '../../repository/versions.js';
import type { InstanceRegistry } from '../instances.js';
import type { PackageProvider } from '../ports.js';
import type { RouterLink } from '../router-link.js';
import type { VersionCatalog } from '../version-catalog.js';
import type { VersionConfigurations } from '../version-configuration.js';
import type { ProductRef } from '../payloads.js';
import type { AdminFleet } from '../fleet-port.js';

export interface AdminContext {
  config: AdminConfig;
  registry: InstanceRegistry;
  repository: RepositoryClient;
  /** Exact versions (yanked ones included), signatures, and status notes. */
  catalog: VersionCatalog;
  packages: PackageProvider;
  /** Step 1 of a start: layers and pivot per version, parsed once per stored text. */
  configurations: VersionConfigurations;
  link: RouterLink;
  logger: Logger;
  /** This host's fleet, when it is in one (set once it has joined). */
  fleet?: AdminFleet | undefined;
}

/** The command a handler serves: its uuid, and when its caller stops waiting (ms, this host's clock). */
export interface HandlerCall {
  uuid: string;
  deadlineAt: number;
}

/** A handler: the payload (already checked against the admin pivot) → the reply payload. */
export type Handler = (payload: Record<string, unknown>, ctx: AdminContext, call?: HandlerCall) => Promise<unknown>;

/** The connector of the admin config for a product, if listed. */
export function connectorOf(ctx: AdminContext, ref: ProductRef): ConnectorConfig | undefined {
  return ctx.config.connectors.find((c) => c.type === ref.type && c.product === ref.product);
}

/** FAIL FLEET_MANAGED when the coordinator owns the product's instances (docs/fleet.md, desired state). */
export function assertNotFleetManaged(ctx: AdminContext, ref: ProductRef, command: string): void {
  if (ctx.fleet?.managed(ref)) {
    throw new WorkerAdminError('FLEET_MANAGED', `${ref.type}/${ref.product} has a fleet desired state: its instances are placed by the coordinator, not by ${command} (change them with \`worker-admin fleet apply\`)`);
  }
}

/** The versions listed for a product in its repository. */
export function listVersions(ctx: AdminContext, ref: ProductRef): Promise<VersionEntry[]> {
  return ctx.repository.listVersions(ref.type, ref.product);
}
