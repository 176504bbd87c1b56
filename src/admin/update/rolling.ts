// One instance moved to another version without a gap: the new process starts beside the old, and only once the
// router has it READY, and both served side by side while it warmed up, is the old one put on stand-by (DrainWorker),
// left to finish its in-flight commands, and stopped.
import { WorkerAdminError } from '../../common/errors.js';
import type { Instance } from '../instance.js';
import type { LaunchedWorker, LaunchSpec } from '../launcher.js';
import type { SpawnedWorker } from '../ports.js';
import type { DrainRef } from './drain.js';
import { productKey } from '../../common/names.js';

export interface RollingDeps {
  /** Steps 1–4 of a start; throws LaunchError (its `reason` says why) when the new version does not become READY. */
  launch(spec: LaunchSpec): Promise<LaunchedWorker>;
  /** Router DrainWorker, wait for exit up to drainTimeout, then SIGTERM/SIGKILL the group. */
  drainAndStop(worker: SpawnedWorker, ref: DrainRef): Promise<void>;
  /** True once the admin is shutting down: a worker launched meanwhile is stopped, not swapped in. */
  closing(): boolean;
  /** Both versions serve side by side until the new one is warm (./warm-up.ts); absent: no overlap. */
  warmUp?(identifier: string, from: string, to: string): Promise<unknown>;
  /** Publishes an `admin` topic event (the processes' lifecycle during the update). */
  publish(event: string, payload: Record<string, unknown>): void;
}

/** What one replacement did. */
export interface Replaced {
  identifier: string;
  from: string;
  to: string;
  pid: number;
}

/**
 * Replaces the worker of a READY instance by one of version `to` (and `config`, when given: a fleet's changed desired
 * state); on failure the old worker was never touched.
 */
export async function replaceInstance(instance: Instance, to: string, deps: RollingDeps, config?: Instance['spec']['config']): Promise<Replaced> {
  const { identifier } = instance;
  const from = instance.spec.version;
  // The instance stays READY on the old process throughout; these events follow each process by version.
  const product = productKey(instance.spec);
  const announce = (event: string, version: string, extra: Record<string, unknown> = {}): void =>
    deps.publish(event, { identifier, product, version, from, to, ...extra });
  announce('WORKER_STARTING', to);
  let launched: LaunchedWorker;
  try {
    launched = await deps.launch({ ...instance.spec, version: to, beside: true, ...(config ? { config } : {}) });
  } catch (error) {
    announce('WORKER_INVALID', to, { reason: (error as { reason?: string }).reason ?? (error as Error).message });
    throw error;
  }
  // The launch (and the warm-up) took a while: the old worker may have crashed, or the instance been stopped, meanwhile.
  const abortIfChanged = async (): Promise<void> => {
    const refusal = deps.closing() ? 'the admin is shutting down'
      : instance.state !== 'READY' || instance.spec.version !== from ? `instance ${identifier} went ${instance.state} (version ${instance.spec.version}) during the update`
        : undefined;
    if (refusal === undefined) return;
    await deps.drainAndStop(launched.worker, { identifier, version: to, tokenSha256: launched.tokenSha256 });
    announce('WORKER_STOPPED', to, { reason: refusal });
    throw new WorkerAdminError('UPDATE_ABORTED', refusal);
  };
  await abortIfChanged();
  announce('WORKER_READY', to, { pid: launched.worker.pid });
  if (deps.warmUp) {
    await deps.warmUp(identifier, from, to);
    await abortIfChanged();
  }
  const old = instance.swap(launched, to, config);
  if (old.worker) {
    announce('WORKER_DRAINING', old.ref.version);
    await deps.drainAndStop(old.worker, old.ref);
    announce('WORKER_STOPPED', old.ref.version);
  }
  return { identifier, from, to, pid: launched.worker.pid };
}
