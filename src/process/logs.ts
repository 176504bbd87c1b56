// Worker output: each line to the admin's pino log tagged {identifier, version, stream}, and to a per-run file.
import { once } from 'node:events';
import { createWriteStream, mkdirSync, openSync, readdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { WriteStream } from 'node:fs';
import type { Logger } from '../common/log.js';
import { assertIdentifier } from '../common/names.js';
import type { AdminMode } from '../config/types.js';
import type { OutputStream } from './spawn.js';

interface WorkerLogOptions {
  /** When given, each line also goes to this pino logger, tagged {identifier, version, stream}. */
  logger?: Logger;
  stateDir: string;
  identifier: string;
  version: string;
  /** development keeps the file after the run; production removes it. */
  mode: AdminMode;
  /** The run numbers already known in stateDir (the admin keeps one); default: the folder is listed now. */
  runs?: LogRuns;
}

/** The folder of per-run worker log files. */
function logsDir(stateDir: string): string {
  return join(stateDir, 'logs');
}

/** Bytes a run's file may have waiting for the disk; past it, lines skip the file (counted, noted once it catches up). */
const FILE_BACKLOG_BYTES = 1024 * 1024;

/** `{stateDir}/logs/{identifier}.{n}.log`. */
export function logFilePath(stateDir: string, identifier: string, run: number): string {
  return join(logsDir(stateDir), `${assertIdentifier(identifier)}.${run}.log`);
}

/** The config of a worker as the admin may log it: key names only, never values (some are secrets).
 * Spread it into a log record (`{identifier, ...configForLog(config)}`); `config.*` itself is redacted by the logger. */
export function configForLog(config: Record<string, unknown>): { configKeys: string[] } {
  return { configKeys: Object.keys(config).sort() };
}

type LogState = 'open' | 'closing' | 'closed';

/** One run's log: lines go to pino and to the run's file; close() ends the file (and removes it in production). */
export class WorkerLog {
  private state: LogState = 'open';
  private closing: Promise<void> | undefined;
  private readonly logger: Logger | undefined;
  private skipped = 0;

  private constructor(
    private readonly options: WorkerLogOptions,
    private readonly file: WriteStream,
    readonly path: string,
    readonly run: number,
  ) {
    // Tagged with the worker as router lines name it (`worker=ID@VERSION`); `warn` stays for the admin's own warnings.
    this.logger = options.logger?.child({ worker: `${options.identifier}@${options.version}`, identifier: options.identifier, version: options.version });
    // A full disk must not take the admin down: the pino line still goes out.
    file.on('error', (error) => options.logger?.warn({ identifier: options.identifier, version: options.version, err: error, path }, 'worker log file write failed'));
  }

  /**
   * Opens the next run's file `{identifier}.{n}.log` (n = 1 + the highest present when `runs` first listed the folder,
   * or opened since). Synchronous: cheap, and callable from a spawn hook.
   */
  static openSync(options: WorkerLogOptions): WorkerLog {
    const dir = logsDir(options.stateDir);
    mkdirSync(dir, { recursive: true });
    const runs = options.runs?.stateDir === options.stateDir ? options.runs : new LogRuns(options.stateDir);
    const highest = runs.byIdentifier();
    const identifier = assertIdentifier(options.identifier);
    let run = (highest.get(identifier) ?? 0) + 1;
    for (;;) {
      const path = logFilePath(options.stateDir, options.identifier, run);
      try {
        // 'wx': two runs of one identifier (rolling update) never share a file; 0600: output may be sensitive.
        const fd = openSync(path, 'wx', 0o600);
        highest.set(identifier, run);
        const file = createWriteStream(path, { fd });
        // Which version wrote it: `worker-admin logs --run N` prefixes the lines of an earlier run with it.
        file.write(`${runHeader(options.identifier, options.version, run)}\n`);
        return new WorkerLog(options, file, path, run);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        run += 1;
      }
    }
  }

  /** Same as openSync, as a promise. */
  static async open(options: WorkerLogOptions): Promise<WorkerLog> {
    return WorkerLog.openSync(options);
  }

  /** Records one line the worker printed (`at`: its ISO time, default now). */
  line(stream: OutputStream, text: string, at = new Date().toISOString()): void {
    // INFO whatever the stream: a worker's stderr is its log, not a warning from the admin.
    this.logger?.info({ stream }, text);
    if (this.state !== 'open') return;
    // Never an unbounded queue in front of a slow disk: past the backlog the line skips the file.
    if (this.file.writableLength > FILE_BACKLOG_BYTES) {
      this.skipped += 1;
      return;
    }
    if (this.skipped > 0) {
      this.file.write(`${at} stderr ${this.skipped} lines dropped (log file behind)\n`);
      this.skipped = 0;
    }
    this.file.write(`${at} ${stream} ${text}\n`);
  }

  /** Ends the run: flushes the file, then removes it in production mode. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.doClose());
  }

  private async doClose(): Promise<void> {
    this.state = 'closing';
    if (!this.file.closed) {
      const closed = once(this.file, 'close').catch(() => undefined);
      this.file.end();
      await closed;
    }
    if (this.options.mode === 'production') await unlink(this.path).catch(() => undefined);
    this.state = 'closed';
  }
}

/**
 * The highest run number by identifier in one logs folder: the folder is listed once, then kept up to date by openSync
 * ('wx' still refuses a number taken meanwhile). Listing it on every open cost O(files) per start: a burst of 200
 * starts listed 200 × 200 names. One per admin (its state dir), never shared between admins.
 */
export class LogRuns {
  private highest: Map<string, number> | undefined;

  constructor(readonly stateDir: string) {}

  /** The highest run of each identifier, read from the folder on first use. */
  byIdentifier(): Map<string, number> {
    return (this.highest ??= highestRuns(logsDir(this.stateDir)));
  }
}

/** The first line of each run's file: `# worker-admin identifier=ID version=V run=N`. */
function runHeader(identifier: string, version: string, run: number): string {
  return `# worker-admin identifier=${identifier} version=${version} run=${run}`;
}

function highestRuns(dir: string): Map<string, number> {
  const highest = new Map<string, number>();
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.log')) continue;
    const stem = name.slice(0, -'.log'.length);
    const dot = stem.lastIndexOf('.');
    const run = Number(stem.slice(dot + 1));
    if (dot <= 0 || !Number.isInteger(run) || run <= 0) continue;
    const identifier = stem.slice(0, dot);
    if (run > (highest.get(identifier) ?? 0)) highest.set(identifier, run);
  }
  return highest;
}
