// The policy manager's ports on a running admin: ADMIN_START_WORKER / ADMIN_STOP_WORKER's own code, and state.json.
import type { Admin } from '../../admin/admin.js';
import { startWorker, stopWorker } from '../../admin/commands/lifecycle.js';
import type { AdminPersistence } from '../../admin/persistence.js';
import { instanceParams, type PolicySpec } from './policy.js';
import type { PolicyInstances, PolicyStorage } from './ports.js';
import { productKey } from '../../common/names.js';

/** Instances started and stopped exactly as the ADMIN_* commands do (same checks, same events, same state.json). */
export function adminPolicyInstances(admin: Admin): PolicyInstances {
  return {
    async start(spec: PolicySpec, version: string | undefined) {
      const wanted = version ?? spec.range;
      // Already running with the same spec (restored by the admin from state.json) counts as started: it is this policy's.
      await startWorker({
        product: productKey(spec), identifier: spec.name, params: instanceParams(spec),
        ...(wanted === undefined ? {} : { version: wanted }),
      }, admin.context);
    },
    async stop(name: string) {
      await stopWorker({ identifier: name }, admin.context);
    },
    isLive: (name) => admin.registry.get(name)?.live === true,
  };
}

/** Policies in state.json; the previous run's desired instances give each policy's version back. */
export function adminPolicyStorage(persistence: AdminPersistence): PolicyStorage {
  return {
    load() {
      const state = persistence.snapshot();
      return { policies: state.policies, versions: new Map(state.instances.map((i) => [i.identifier, i.version])) };
    },
    save: (records) => persistence.update((draft) => { draft.policies = records; }),
  };
}
