// Shared by the process tests: fixture paths, a janitor that kills every group a test started, polling.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnWorker, type ChildHandle, type OutputStream, type SpawnOptions } from '../../src/process/spawn.js';

export const FIXTURES = resolve(__dirname, '../fixtures/processes');

/** Absolute path of a fixture script. */
export function fixture(name: string): string {
  return resolve(FIXTURES, name);
}

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Kills (SIGKILL) every process group it was told about; run it in afterEach so a failed test leaves nothing behind. */
export class Janitor {
  private readonly groups = new Set<number>();

  track(pgid: number): void {
    this.groups.add(pgid);
  }

  cleanup(): void {
    for (const pgid of this.groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.groups.clear();
  }
}

/** A spawned fixture with the lines it printed so far. */
interface RunningFixture {
  child: ChildHandle;
  lines: Array<{ stream: OutputStream; line: string }>;
  /** Resolves with the first stdout line matching `test`. */
  line(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** Spawns `node FIXTURE` through spawnWorker, tracked by the janitor. */
export async function runFixture(janitor: Janitor, name: string, stdin: unknown = {}, extra: Partial<SpawnOptions> = {}): Promise<RunningFixture> {
  const lines: RunningFixture['lines'] = [];
  const child = await spawnWorker({
    command: process.execPath, args: [fixture(name)], cwd: FIXTURES, stdinLine: JSON.stringify(stdin),
    onLine: (stream, line) => lines.push({ stream, line }), ...extra,
  });
  janitor.track(child.pgid);
  return {
    child,
    lines,
    line: (test, timeoutMs) => waitFor(() => lines.find((l) => l.stream === 'stdout' && test(l.line))?.line, `a line from ${name}`, timeoutMs),
  };
}
