// Stops the worker processes an admin run recorded in its state dir (state.json), by pid, checking each pid's
// start time so that a recycled pid is never hit: what a test uses after SIGKILLing an admin it started.
import { loadStateFile } from '../../src/process/state-file.js';
import { reapOrphans } from '../../src/process/orphans.js';

export async function stopRecordedWorkers(stateDir: string): Promise<void> {
  const { state } = await loadStateFile(stateDir);
  await reapOrphans(state, { killTimeoutMs: 1000 });
}
