// Stops the worker processes an admin run recorded in its state dir (state.json), by pid, checking each pid's
// start time so that a recycled pid is never hit: what a test uses after SIGKILLing an admin it started.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadStateFile } from '../../src/process/state-file.js';
import { reapOrphans } from '../../src/process/orphans.js';

export async function stopRecordedWorkers(stateDir: string): Promise<void> {
  const { state } = await loadStateFile(stateDir);
  await reapOrphans(state, { killTimeoutMs: 1000 });
}

/**
 * After a test of `up` as a process: SIGKILLs the children still running (by pid), then stops the workers each temp
 * dir's `state` recorded (those of an `up` killed with -9 outlive it) and removes the dir.
 */
export async function stopUpRuns(children: ChildProcess[], dirs: string[]): Promise<void> {
  await Promise.all(children.splice(0).map(async (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  }));
  for (const d of dirs.splice(0)) {
    await stopRecordedWorkers(join(d, 'state'));
    rmSync(d, { recursive: true, force: true });
  }
}
