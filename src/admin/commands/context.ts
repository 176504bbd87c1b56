// What every ADMIN_* handler may use; built once in admin.ts.
import type { Logger } from '../../common/log.js';
import type { AdminConfig, ConnectorConfig } from '../../config/types.js';
import type { RepositoryClient } from '../../repository/client.js';
import type { VersionEntry } from '../../repository/versions.js';
import type { InstanceRegistry } from '../instances.js';
import type { PackageProvider } from '../ports.js';
import type { RouterLink } from '../router-link.js';
import type { VersionCatalog } from '../version-catalog.js';
import type { ProductRef } from '../payloads.js';

export interface AdminContext {
  config: AdminConfig;
  registry: InstanceRegistry;
  repository: RepositoryClient;
  /** Exact versions (yanked ones included), signatures, and status notes. */
  catalog: VersionCatalog;
  packages: PackageProvider;
  link: RouterLink;
  logger: Logger;
}

/** A handler: the payload (already checked against the admin pivot) → the reply payload. */
export type Handler = (payload: Record<string, unknown>, ctx: AdminContext) => Promise<unknown>;

/** The connector of the admin config for a product, if listed. */
export function connectorOf(ctx: AdminContext, ref: ProductRef): ConnectorConfig | undefined {
  return ctx.config.connectors.find((c) => c.type === ref.type && c.product === ref.product);
}

/** The versions listed for a product in its repository. */
export function listVersions(ctx: AdminContext, ref: ProductRef): Promise<VersionEntry[]> {
  return ctx.repository.listVersions(ref.type, ref.product);
}
