// The real WorkerSpawner: execa spawn in its own process group, output lines to the log, group stop.
import type { Logger } from '../common/log.js';
import { stopGroup } from '../process/kill.js';
import { spawnWorker, type ChildHandle, type OutputStream } from '../process/spawn.js';
import type { SpawnedWorker, SpawnRequest, WorkerSpawner } from './ports.js';

/** A spawned worker with its process group, as the state file records it. */
export interface ProcessWorker extends SpawnedWorker {
  readonly pgid: number;
  readonly identifier: string;
  readonly version: string;
}

/** Output sinks for one run: the admin's log, tagged, and (optionally) a per-run log file. */
export interface OutputSink {
  line(stream: OutputStream, text: string): void;
  /** Called once the process exited and its output is drained. */
  closed(): void;
}

export interface SpawnerOptions {
  logger: Logger;
  /** A per-run output sink (log files); default: the admin log only. */
  openSink?: (request: SpawnRequest) => OutputSink;
  /** uid/gid for `runAs` (issue 7); undefined: run as the admin's user. */
  resolveUser?: (runAs: string) => { uid: number; gid: number };
}

/** Creates the spawner the admin uses for every worker process. */
export function createProcessSpawner(opts: SpawnerOptions): WorkerSpawner {
  return {
    async spawn(request) {
      const sink = opts.openSink?.(request);
      const user = request.runAs ? opts.resolveUser?.(request.runAs) : undefined;
      const log = opts.logger.child({ identifier: request.identifier, version: request.version });
      const child: ChildHandle = await spawnWorker({
        command: request.command, args: request.args, cwd: request.cwd, stdinLine: request.stdinLine,
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
        onLine: (stream, text) => {
          if (sink) sink.line(stream, text);
          else log.info({ stream }, text);
        },
      });
      void child.outputClosed.finally(() => sink?.closed());
      const worker: ProcessWorker = { pid: child.pid, pgid: child.pgid, exited: child.exited, identifier: request.identifier, version: request.version };
      return worker;
    },
    async stop(worker, killTimeoutMs) {
      const pgid = (worker as Partial<ProcessWorker>).pgid ?? worker.pid;
      await stopGroup({ pgid, exited: worker.exited }, { killTimeoutMs, reason: 'stop' });
    },
  };
}
