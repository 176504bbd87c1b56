// Wires the memory sampler to supervised instances: a READY worker over its connector's maxMemory is ended with a reason.
import type { Logger } from '../common/log.js';
import { startMemorySampler, type MemorySampler } from './memory.js';

/** What the watch reads of an instance (the admin's Instance fits). */
interface WatchedInstance {
  readonly identifier: string;
  readonly state: string;
  readonly spec: { type: string; product: string; version: string };
  readonly worker: { pid: number } | undefined;
}

interface MemoryWatchOptions {
  instances: () => Iterable<WatchedInstance>;
  /** Each connector's limit; undefined: none. */
  limitOf: (type: string, product: string) => number | undefined;
  /** Ends the instance's worker with `reason`; its supervisor restarts it like a crash. */
  terminate: (instance: WatchedInstance, reason: string) => Promise<void>;
  logger: Logger;
  intervalMs?: number;
}

/** Starts sampling the RSS of READY workers whose connector has a maxMemory. */
export function watchInstancesMemory(opts: MemoryWatchOptions): MemorySampler {
  const byPid = new Map<number, WatchedInstance>();
  return startMemorySampler({
    ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    targets: function* () {
      byPid.clear();
      for (const instance of opts.instances()) {
        const max = opts.limitOf(instance.spec.type, instance.spec.product);
        if (max === undefined || instance.state !== 'READY' || !instance.worker) continue;
        byPid.set(instance.worker.pid, instance);
        yield { identifier: instance.identifier, version: instance.spec.version, pid: instance.worker.pid, maxMemoryBytes: max };
      }
    },
    onOver: ({ target, reason }) => {
      const instance = byPid.get(target.pid);
      if (!instance) return;
      opts.logger.warn({ identifier: target.identifier, version: target.version, pid: target.pid, reason }, 'worker over its maxMemory: restarting it');
      opts.terminate(instance, reason).catch((error: unknown) => opts.logger.error({ identifier: target.identifier, err: String(error) }, 'cannot stop the worker over its maxMemory'));
    },
  });
}
