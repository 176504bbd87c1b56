// Spawns a worker (node:child_process): own process group, allow-listed env, argv as given, one JSON line on stdin then EOF.
import { spawn } from 'node:child_process';
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
  /** Set on top of the allow-list (never secrets): e.g. WORKER_ADMIN_PYTHON for Python packages. */
  extraEnv?: Record<string, string>;
  /** Written to stdin as one line, then stdin is closed: the token and config travel only here. */
  stdinLine: string;
  uid?: number;
  gid?: number;
  /** Each line the worker prints; output is always read so a worker never blocks on a full pipe. */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Bytes of one line; a longer one is cut into pieces (default MAX_LINE_BYTES). */
  maxLineBytes?: number;
  /** Asked before each line is read: false drops it unread (the output rate limit). */
  admit?: () => boolean;
}

/** How a process ended: an exit code, or the signal that killed it. */
export interface ExitInfo {
  code: number | null;
  /** A signal name such as "SIGKILL" (typed as string to match the admin's ports). */
  signal: string | null;
  /** Why the admin ended it, when it did so on its own (e.g. `MEMORY_LIMIT: …`): the restart reason. */
  reason?: string;
  /** The last line it wrote to stderr (cut to 300 characters): why a worker that never got READY gave up. */
  lastStderr?: string;
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

/** The command and arguments that run a package entry: `.mjs` with this Node.js, anything else as is. */
export function entryCommand(entry: string, args: readonly string[]): { command: string; args: string[] } {
  return entry.endsWith('.mjs') ? { command: process.execPath, args: [entry, ...args] } : { command: entry, args: [...args] };
}

/**
 * Spawns one worker process in its own process group; resolves once it is running (SPAWN_FAILED otherwise).
 * node:child_process directly, not execa: a long-lived worker needs none of execa's result handling, and execa's
 * per-subprocess streams, generators and promises were about 150 KB of garbage per spawn and ~10 suspended
 * generators per live worker (a burst of 200 starts: ~30 MB of heap garbage from execa alone).
 */
export async function spawnWorker(options: SpawnOptions): Promise<ChildHandle> {
  if (options.stdinLine.includes('\n')) {
    throw new WorkerAdminError('SPAWN_FAILED', `${options.command}: the stdin line must be one line of JSON`);
  }
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: { ...workerEnv(options.env), ...options.extraEnv }, // the allow-list only: never the admin's environment (tokens, ${VAR} secrets)
    detached: true, // own process group (setsid): stop signals the whole group
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  // 'exit' comes from the process itself; the pipes closing can be delayed forever by a grandchild holding them.
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      child.off('spawn', onSpawn);
      reject(new WorkerAdminError('SPAWN_FAILED', `cannot run ${options.command} in ${options.cwd}: ${errorMessage(error)}`, { cause: error }));
    };
    const onSpawn = (): void => {
      child.off('error', onError);
      // Later errors (a failed kill) must not be unhandled: the exit is what counts.
      child.on('error', () => undefined);
      resolve();
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
  const pid = child.pid;
  if (pid === undefined) throw new WorkerAdminError('SPAWN_FAILED', `cannot run ${options.command}: no pid`);
  // The one line, then EOF. A worker that exits without reading it gives EPIPE: ignored, its exit says what happened.
  child.stdin.on('error', () => undefined);
  child.stdin.end(`${options.stdinLine}\n`);
  const onLine = options.onLine ?? (() => undefined);
  const lineOptions = { ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}), ...(options.admit ? { admit: options.admit } : {}) };
  const outputClosed = Promise.all([
    readLines(child.stdout, (line) => onLine('stdout', line), lineOptions),
    readLines(child.stderr, (line) => onLine('stderr', line), lineOptions),
  ]).then(() => undefined);
  return { pid, pgid: pid, exited, outputClosed };
}
