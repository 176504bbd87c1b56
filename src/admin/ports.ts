// The narrow interfaces the admin drives: package cache and process spawning (the clock is common/clock.ts). Real ones are wired in admin.ts.

import type { ExitInfo } from '../process/spawn.js';

export type { ExitInfo };

/** A running worker process (its own process group). */
export interface SpawnedWorker {
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  /** Gives a worker spawned with `lowPriorityUntilReady` the admin's CPU priority back (the launcher, once READY). */
  restorePriority?(): void;
}

export interface SpawnRequest {
  identifier: string;
  version: string;
  command: string;
  args: string[];
  cwd: string;
  /** The one JSON line written to stdin before EOF: token and config travel only here. */
  stdinLine: string;
  runAs: string | undefined;
  /** Variables set on top of the allow-listed environment (never secrets). */
  env?: Record<string, string>;
  /** Start at a lower CPU priority (beside a serving worker) until `restorePriority`. */
  lowPriorityUntilReady?: boolean;
}

/** Starts worker processes and stops their process groups. */
export interface WorkerSpawner {
  spawn(request: SpawnRequest): Promise<SpawnedWorker>;
  /** SIGTERM to the group, SIGKILL after killTimeoutMs; resolves once the process exited. */
  stop(worker: SpawnedWorker, killTimeoutMs: number): Promise<void>;
}

/** A package ready to run: where it is unpacked and which entry it has. */
interface ReadyPackage { dir: string; sha256: string; entry: 'worker' | 'worker.mjs' }

/** Steps 2 of a start: download (or reuse), verify, unpack. */
export interface PackageProvider {
  ensure(request: { type: string; product: string; version: string; sha256?: string | undefined }): Promise<ReadyPackage>;
}
