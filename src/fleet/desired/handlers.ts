// The admin commands of the desired state (docs/fleet.md, desired state): ADMIN_FLEET_APPLY, ADMIN_FLEET_GET,
// ADMIN_FLEET_CORDON, and ADMIN_SET_UPDATE_MODE of a fleet-managed product (an override). Payloads are already
// checked against the admin pivot (src/admin/configuration.yaml).
import { createHash } from 'node:crypto';
import { WorkerAdminError } from '../../common/errors.js';
import { parseProductRef, productKey } from '../../common/names.js';
import type { Handler } from '../../admin/commands/context.js';
import { describePolicy, parseModePayload } from '../../admin/update/policy.js';
import { readDesiredFile } from './file.js';
import { checkSecrets, type SecretKeys } from './secrets.js';
import type { CordonMode, DesiredStore } from './store.js';
import { effectiveUpdate } from './types.js';

interface DesiredHandlerDeps {
  store: DesiredStore;
  /** This host's name in the fleet (events and the default `by`). */
  host: string;
  /** The `secret: true` keys of a product (repositorySecretKeys over the admin's repository client). */
  secretKeys: SecretKeys;
}

/** The handlers to merge into the admin's fleet handlers (AdminFleet.handlers). */
export function desiredHandlers(deps: DesiredHandlerDeps): Record<string, Handler> {
  const byOf = (payload: Record<string, unknown>): string => (typeof payload['by'] === 'string' ? payload['by'] : `admin@${deps.host}`);
  return {
    /** {file, text, dryRun?, resetOverrides?, by?} → {changes, applied}; FLEET_APPLIED when something changed. */
    ADMIN_FLEET_APPLY: async (payload, ctx) => {
      const file = payload['file'] as string;
      const text = payload['text'] as string;
      const { entries, fail } = readDesiredFile(text, file);
      await checkSecrets(entries, deps.secretKeys, fail);
      const by = byOf(payload);
      const digest = createHash('sha256').update(text).digest('hex');
      const result = await deps.store.apply(entries, {
        by, file, digest, dryRun: payload['dryRun'] === true, resetOverrides: payload['resetOverrides'] === true,
      });
      if (result.applied) {
        ctx.link.publish('FLEET_APPLIED', { host: deps.host, by, file, digest, changes: result.changes });
        ctx.logger.info({ by, file, digest, changes: result.changes.length }, 'fleet desired state applied');
      }
      return result;
    },
    /** {} → {connectors, overrides}. */
    ADMIN_FLEET_GET: async () => deps.store.get(),
    /** {host, mode: cordon|drain|uncordon, by?} → {host, mode, changed}. */
    ADMIN_FLEET_CORDON: async (payload, ctx) => {
      const host = payload['host'] as string;
      const mode = payload['mode'] as CordonMode;
      const { changed } = await deps.store.setCordon(host, mode, byOf(payload));
      if (changed) ctx.logger.info({ host, mode }, 'fleet host cordon changed');
      return { host, mode, changed };
    },
    /** ADMIN_SET_UPDATE_MODE of a fleet-managed product → {mode, at, interval, nextCheck}: an override beside its desired state. */
    ADMIN_SET_UPDATE_MODE: async (payload) => {
      const ref = parseProductRef(payload['product']);
      const found = await deps.store.product(ref);
      if (!found) throw new WorkerAdminError('NOT_FOUND', `${productKey(ref)} has no desired state in this fleet`);
      const current = effectiveUpdate(found.connector, found.override);
      const policy = parseModePayload(payload, { ...current, cron: undefined });
      await deps.store.setOverride(ref, { mode: policy.mode, intervalMs: policy.intervalMs, range: policy.range, at: policy.at }, byOf(payload), 'ADMIN_SET_UPDATE_MODE');
      // the coordinator runs the fleet's checks: when the next one falls is its to say
      return describePolicy(policy, undefined);
    },
  };
}
