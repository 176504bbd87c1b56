// What a rollout request asks for (docs/fleet.md, a rollout): the version it goes to, its batch settings, and the
// instances it moves, from the request, the product's desired state and running version, and the repository.
import { replyError } from '../../common/errors.js';
import type { VersionEntry } from '../../repository/versions.js';
import { chooseTarget } from '../../admin/update/target.js';
import { effectiveUpdate, type DesiredConnector, type DesiredOverride } from '../desired/types.js';
import type { RunningVersion } from '../placement/types.js';
import type { RolloutView } from './ports.js';
import type { RolloutRequest } from './types.js';

/** The version a request goes to; `none`: nothing newer (or already there); `refused`: it cannot be served. */
type RolloutTarget = { kind: 'update'; to: string } | { kind: 'none'; to: string; reason: string } | { kind: 'refused'; reason: string };

/** Lists a product's versions in the repository. */
export type ListVersions = (type: string, product: string) => Promise<VersionEntry[]>;

/** The request's version, or the newest in the effective update range (skipping failed versions for auto and planned). */
export async function resolveTarget(
  request: RolloutRequest, running: RunningVersion, desired: DesiredConnector, override: DesiredOverride | undefined, listVersions: ListVersions,
): Promise<RolloutTarget> {
  const product = `${desired.type}/${desired.product}`;
  let versions: VersionEntry[];
  try {
    versions = await listVersions(desired.type, desired.product);
  } catch (error) {
    return { kind: 'refused', reason: replyError(error) };
  }
  const automatic = request.trigger === 'auto' || request.trigger === 'planned';
  try {
    const target = chooseTarget({
      product, versions, from: running.version, version: request.version, range: effectiveUpdate(desired, override).range,
      ...(automatic ? { skip: new Set(running.failed) } : {}),
    });
    return target.kind === 'update' ? target : { kind: 'none', to: running.version, reason: target.reason };
  } catch (error) {
    return { kind: 'refused', reason: replyError(error) };
  }
}

/** Batch settings: the request's, else the connector's effective update policy. */
export function rolloutSettings(request: RolloutRequest, desired: DesiredConnector, override: DesiredOverride | undefined): { canary: number; maxParallel: number; minHealthyMs: number } {
  const update = effectiveUpdate(desired, override);
  return {
    canary: request.canary ?? update.canary ?? 0,
    maxParallel: Math.max(1, request.maxParallel ?? update.maxParallel ?? 1),
    minHealthyMs: request.minHealthyMs ?? update.minHealthyMs ?? 10_000,
  };
}

interface MovableInstance {
  identifier: string;
  host: string;
  version: string;
}

/**
 * Every assigned instance of the product on a live host whose version is not `to`, in a stable order (n, then
 * identifier). Instances of a lost host are left out: placement re-places them with the running version.
 */
export function instancesToMove(view: RolloutView, type: string, product: string, to: string): MovableInstance[] {
  const found: Array<MovableInstance & { n: number }> = [];
  for (const [host, assignments] of view.assignments) {
    if (!view.hosts.has(host)) continue;
    for (const a of assignments.value.instances) {
      if (a.type === type && a.product === product && a.version !== to) found.push({ identifier: a.identifier, host, version: a.version, n: a.n });
    }
  }
  found.sort((a, b) => a.n - b.n || a.identifier.localeCompare(b.identifier));
  return found.map(({ identifier, host, version }) => ({ identifier, host, version }));
}
