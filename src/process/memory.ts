// Samples workers' RSS and reports one that goes over its connector's maxMemory (the admin restarts it with a reason).
import { rssBytes } from './proc.js';

/** A process to watch. */
interface MemoryTarget {
  identifier: string;
  version: string;
  pid: number;
  maxMemoryBytes: number;
}

/** One report: the worker, what it used, its limit, and a reason for the restart. */
export interface MemoryOverage {
  target: MemoryTarget;
  rssBytes: number;
  reason: string;
}

interface MemorySamplerOptions {
  /** The processes to check at each sample (read anew each time: instances come and go). */
  targets: () => Iterable<MemoryTarget>;
  onOver: (overage: MemoryOverage) => void;
  /** Time between samples (default 5 s). */
  intervalMs?: number;
  /** RSS reader (default: VmRSS from /proc); injectable for tests. */
  readRss?: (pid: number) => number | undefined;
}

export interface MemorySampler {
  /** Takes one sample now (also what the timer calls). */
  sample(): MemoryOverage[];
  stop(): void;
}

/** Starts sampling; each pid is reported once, so a worker being restarted is not reported again. */
export function startMemorySampler(options: MemorySamplerOptions): MemorySampler {
  const readRss = options.readRss ?? ((pid: number) => rssBytes(pid));
  let reported = new Set<number>();
  const sample = (): MemoryOverage[] => {
    const overages: MemoryOverage[] = [];
    const seen = new Set<number>();
    for (const target of options.targets()) {
      seen.add(target.pid);
      if (reported.has(target.pid)) continue;
      const rss = readRss(target.pid);
      if (rss === undefined || rss <= target.maxMemoryBytes) continue;
      reported.add(target.pid);
      const reason = `MEMORY_LIMIT: RSS ${mib(rss)} MiB over maxMemory ${mib(target.maxMemoryBytes)} MiB`;
      overages.push({ target, rssBytes: rss, reason });
    }
    // Forget pids no longer watched: a reused pid is a new worker.
    reported = new Set([...reported].filter((pid) => seen.has(pid)));
    for (const overage of overages) {
      try {
        options.onOver(overage);
      } catch {
        // The sampler keeps running whatever a handler does.
      }
    }
    return overages;
  };
  const timer = setInterval(sample, options.intervalMs ?? 5000);
  timer.unref(); // sampling never keeps the admin alive
  return { sample, stop: () => clearInterval(timer) };
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
