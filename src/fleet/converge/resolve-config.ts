// A desired connector's config as this host runs it: `${VAR}` resolved from this host's environment
// (docs/fleet.md, desired state). An unset variable refuses the instance here, CONFIG_INVALID naming it.
import { WorkerAdminError } from '../../common/errors.js';
import { substituteEnv } from '../../config/env.js';
import type { ConfigScalar } from '../../config/types.js';

export function resolveConfig(identifier: string, config: Record<string, ConfigScalar>, env: NodeJS.ProcessEnv): Record<string, ConfigScalar> {
  return substituteEnv(config, env, ({ field, reason }) => {
    throw new WorkerAdminError('CONFIG_INVALID', `${identifier}: config.${field} ${reason} on this host`);
  }) as Record<string, ConfigScalar>;
}
