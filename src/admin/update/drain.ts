// The drain half of a rolling update (and of every stop): the router stops sending the old worker new commands, the
// worker finishes those in flight and exits; past drainTimeout its process group gets SIGTERM, then SIGKILL.
import type { Clock } from '../../common/clock.js';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { RouterRpc } from '../../sdk/rpc.js';
import type { SpawnedWorker, WorkerSpawner } from '../ports.js';

interface DrainDeps {
  rpc: Pick<RouterRpc, 'drainWorker'>;
  spawner: Pick<WorkerSpawner, 'stop'>;
  clock: Clock;
  logger: Logger;
  drainMs: number;
  killMs: number;
}

/**
 * Which stream to drain: the one opened with the launch's one-time token (its sha256), so that a version re-published in
 * place (old and new bytes under one IDENTIFIER@VERSION, docs/repository.md) drains the old process's stream only.
 */
export interface DrainRef {
  identifier: string;
  version: string;
  tokenSha256: string;
}

/** Drains `worker` on the router, waits for it to exit up to drainMs, then stops its group; resolves once it exited. */
export async function drainAndStop(deps: DrainDeps, worker: SpawnedWorker, ref: DrainRef): Promise<void> {
  const { identifier, version, tokenSha256 } = ref;
  await deps.rpc.drainWorker({ identifier, version, token_sha256: tokenSha256 })
    .catch((error: unknown) => deps.logger.warn({ identifier, version, err: errorMessage(error) }, 'drain request failed: stopping anyway'));
  // One AbortController per wait: once the worker exits, the drain-timeout timer goes too (or it would hold the process open).
  const abort = new AbortController();
  const drained = await Promise.race([
    worker.exited.then(() => true),
    deps.clock.sleep(deps.drainMs, abort.signal).then(() => false, () => true),
  ]).finally(() => abort.abort());
  if (!drained) deps.logger.warn({ identifier, version, drainMs: deps.drainMs }, 'drain timeout: terminating the worker');
  await deps.spawner.stop(worker, deps.killMs);
}
