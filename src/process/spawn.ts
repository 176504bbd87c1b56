// Spawns a worker with execa: own process group, allow-listed env, argv as given, one JSON line on stdin then EOF.
import { execa } from 'execa';
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { workerEnv } from './env.js';
import { readLines } from './lines.js';

export type OutputStream = 'stdout' | 'stderr';

export interface SpawnOptions {
  command: string;
  /** Exactly the arguments the worker gets (never a secret: /proc/PID/cmdline is world-readable). */
  args: readonly string[];
  cwd: string;
  /** Where the allow-listed variables (PATH, HOME, LANG, TZ) are taken from; default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin as one line, then stdin is closed: the token and config travel only here. */
  stdinLine: string;
  uid?: number;
  gid?: number;
  /** Each line the worker prints; output is always read so a worker never blocks on a full pipe. */
  onLine?: (stream: OutputStream, line: string) => void;
}

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitInfo {
  code: number | null;
  /** A signal name such as "SIGKILL" (typed as string to match the admin's ports). */
  signal: string | null;
  /** Why the admin ended it, when it did so on its own (e.g. `MEMORY_LIMIT: …`): the restart reason. */
  reason?: string;
}

export interface ChildHandle {
  pid: number;
  /** The process group: the worker leads its own, so pgid === pid. */
  pgid: number;
  /** Resolves when the process itself exits (not when a grandchild closes the pipes). */
  exited: Promise<ExitInfo>;
  /** Resolves when stdout and stderr are both closed (all lines delivered). */
  outputClosed: Promise<void>;
}

/** Starts worker processes; the execa one is the real implementation. */
export interface Spawner {
  spawn(options: SpawnOptions): Promise<ChildHandle>;
}

/** The command and arguments that run a package entry: `.mjs` with this Node.js, anything else as is. */
export function entryCommand(entry: string, args: readonly string[]): { command: string; args: string[] } {
  return entry.endsWith('.mjs') ? { command: process.execPath, args: [entry, ...args] } : { command: entry, args: [...args] };
}

/** Spawns one worker process in its own process group; resolves once it is running (SPAWN_FAILED otherwise). */
export async function spawnWorker(options: SpawnOptions): Promise<ChildHandle> {
  if (options.stdinLine.includes('\n')) {
    throw new WorkerAdminError('SPAWN_FAILED', `${options.command}: the stdin line must be one line of JSON`);
  }
  const subprocess = execa(options.command, [...options.args], {
    cwd: options.cwd,
    env: workerEnv(options.env),
    extendEnv: false, // execa would otherwise merge the admin's whole environment (tokens, ${VAR} secrets)
    detached: true, // own process group: stop signals the whole group; execa's cleanup is off as a result
    input: `${options.stdinLine}\n`,
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false, // long-lived workers: lines go to the log, not to memory
    reject: false,
    cleanup: false,
    preferLocal: false,
    forceKillAfterDelay: false,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  // The execa promise settles when the pipes close, which a grandchild can delay forever: exits come from 'exit'.
  subprocess.then(() => undefined, () => undefined);
  const exited = new Promise<ExitInfo>((resolve) => {
    subprocess.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      subprocess.off('spawn', onSpawn);
      reject(new WorkerAdminError('SPAWN_FAILED', `cannot run ${options.command} in ${options.cwd}: ${errorMessage(error)}`, { cause: error }));
    };
    const onSpawn = (): void => {
      subprocess.off('error', onError);
      resolve();
    };
    subprocess.once('error', onError);
    subprocess.once('spawn', onSpawn);
  });
  const pid = subprocess.pid;
  if (pid === undefined) throw new WorkerAdminError('SPAWN_FAILED', `cannot run ${options.command}: no pid`);
  const onLine = options.onLine ?? (() => undefined);
  const outputClosed = Promise.all([
    subprocess.stdout ? readLines(subprocess.stdout, (line) => onLine('stdout', line)) : undefined,
    subprocess.stderr ? readLines(subprocess.stderr, (line) => onLine('stderr', line)) : undefined,
  ]).then(() => undefined);
  return { pid, pgid: pid, exited, outputClosed };
}

/** The real spawner (execa). */
export const execaSpawner: Spawner = { spawn: spawnWorker };
