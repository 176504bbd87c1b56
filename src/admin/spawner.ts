// The real WorkerSpawner: spawn in its own process group, output lines to the log, group stop.
import { WorkerAdminError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { stopGroup } from '../process/kill.js';
import { readProcStat } from '../process/proc.js';
import { spawnWorker, type ChildHandle, type OutputStream } from '../process/spawn.js';
import { startLowPriority } from '../process/start-priority.js';
import type { SpawnedWorker, SpawnRequest, WorkerSpawner } from './ports.js';

/** A spawned worker with its process group, as the state file records it. */
export interface ProcessWorker extends SpawnedWorker {
  readonly pgid: number;
  readonly identifier: string;
  readonly version: string;
  /** /proc start time read once at spawn (state.json names the process by it); undefined once it exited. */
  readonly startTime: number | undefined;
}

/** Output sinks for one run: the admin's log, tagged, and (optionally) a per-run log file. */
interface OutputSink {
  line(stream: OutputStream, text: string): void;
  /** Asked before each line is read: false drops it unread (the rate limit); `line` then gets only admitted lines. */
  admit?(): boolean;
  /** Called once the process exited and its output is drained. */
  closed(): void;
}

interface SpawnerOptions {
  logger: Logger;
  /** A per-run output sink (log files); default: the admin log only. */
  openSink?: (request: SpawnRequest) => OutputSink;
  /** uid/gid (and home, for HOME) for `runAs`; undefined: run as the admin's user. */
  resolveUser?: (runAs: string) => { uid: number; gid: number; home?: string };
  /** Bytes of one output line before it is cut (limits.lineBytes). */
  lineBytes?: number;
}

/** The process spawner, plus a stop that gives the exit a reason (the restart reason of a memory overage). */
interface ProcessSpawner extends WorkerSpawner {
  /** Stops the worker's group; its `exited` then carries `reason` (e.g. `MEMORY_LIMIT: …`). */
  terminate(worker: SpawnedWorker, reason: string, killTimeoutMs: number): Promise<void>;
}

/** Creates the spawner the admin uses for every worker process. */
export function createProcessSpawner(opts: SpawnerOptions): ProcessSpawner {
  const reasons = new WeakMap<SpawnedWorker, string>();
  const stop = async (worker: SpawnedWorker, killTimeoutMs: number, reason = 'stop'): Promise<void> => {
    const pgid = (worker as Partial<ProcessWorker>).pgid ?? worker.pid;
    await stopGroup({ pgid, exited: worker.exited }, { killTimeoutMs, reason });
  };
  return {
    async spawn(request) {
      if (request.runAs && !opts.resolveUser) throw new WorkerAdminError('SPAWN_FAILED', `runAs ${JSON.stringify(request.runAs)}: this admin cannot switch users`);
      const user = request.runAs ? opts.resolveUser?.(request.runAs) : undefined;
      const sink = opts.openSink?.(request);
      // Without a sink, lines go to a tagged child of the admin log (made only then: one per worker otherwise unused).
      const log = sink ? undefined : opts.logger.child({ worker: `${request.identifier}@${request.version}`, identifier: request.identifier, version: request.version });
      let lastStderr = '';
      const onLine = sink ? (stream: OutputStream, text: string) => sink.line(stream, text) : (stream: OutputStream, text: string) => log?.info({ stream }, text);
      const child: ChildHandle = await spawnWorker({
        command: request.command, args: request.args, cwd: request.cwd, stdinLine: request.stdinLine,
        ...(user ? { uid: user.uid, gid: user.gid, env: { ...process.env, HOME: user.home ?? '/' } } : {}),
        ...(request.env ? { extraEnv: request.env } : {}),
        onLine: (stream, text) => {
          if (stream === 'stderr' && text.trim() !== '') lastStderr = text;
          onLine(stream, text);
        },
        ...(opts.lineBytes ? { maxLineBytes: opts.lineBytes } : {}),
        ...(sink?.admit ? { admit: () => sink.admit!() } : {}),
      });
      void child.outputClosed.finally(() => sink?.closed());
      const restorePriority = request.lowPriorityUntilReady ? startLowPriority(child.pid) : undefined;
      let startTime = readProcStat(child.pid)?.startTime;
      const worker: ProcessWorker = {
        pid: child.pid, pgid: child.pgid, identifier: request.identifier, version: request.version,
        ...(restorePriority ? { restorePriority } : {}),
        get startTime() { return startTime; },
        exited: child.exited.then(async (exit) => {
          startTime = undefined; // before anyone awaiting `exited` runs: a dead worker is no longer recorded
          // its last words may still be in the pipe; a grandchild holding the pipe open delays this by 200 ms at most
          await Promise.race([child.outputClosed, new Promise((resolve) => setTimeout(resolve, 200).unref())]);
          const reason = reasons.get(worker);
          const last = lastStderr ? { lastStderr: lastStderr.length > 300 ? `${lastStderr.slice(0, 300)}…` : lastStderr } : {};
          return reason === undefined ? { ...exit, ...last } : { ...exit, ...last, reason };
        }),
      };
      return worker;
    },
    stop: (worker, killTimeoutMs) => stop(worker, killTimeoutMs),
    async terminate(worker, reason, killTimeoutMs) {
      reasons.set(worker, reason);
      await stop(worker, killTimeoutMs, reason);
    },
  };
}

/** Ends a worker with a reason when the spawner can carry one (the process spawner), else a plain stop. */
export function terminateWorker(spawner: WorkerSpawner, worker: SpawnedWorker, reason: string, killTimeoutMs: number): Promise<void> {
  const withReason = spawner as Partial<ProcessSpawner>;
  return withReason.terminate ? withReason.terminate(worker, reason, killTimeoutMs) : spawner.stop(worker, killTimeoutMs);
}
