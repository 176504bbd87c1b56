import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reapOrphans, recordProcess } from '../../src/process/orphans.js';
import { isAlive, processStartTime, readProcStat } from '../../src/process/proc.js';
import { StateStore, loadStateFile } from '../../src/process/state-file.js';
import type { ProcessRecord } from '../../src/process/state-schema.js';
import { Janitor, fixture, runFixture, waitFor } from './helpers.js';

const janitor = new Janitor();
const dirs: string[] = [];
afterEach(() => {
  janitor.cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts a stand-in admin that spawns `worker` detached, records the worker in state.json, then kills the admin with -9. */
async function orphanAfterAdminKill(worker: string): Promise<{ stateDir: string; record: ProcessRecord }> {
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-'));
  dirs.push(stateDir);
  const readyFile = join(stateDir, 'worker-ready');
  const admin = await runFixture(janitor, 'previous-admin.mjs', {}, { args: [fixture('previous-admin.mjs'), `./${worker}`, readyFile] });
  const { pid } = JSON.parse(await admin.line((l) => l.startsWith('{'))) as { pid: number };
  janitor.track(pid);
  if (worker === 'hang.mjs') await waitFor(() => existsSync(readyFile), 'the worker to ignore SIGTERM');
  const startTime = await waitFor(() => processStartTime(pid), 'the worker to start');
  const record: ProcessRecord = { identifier: 'utils-echo-1', version: '1.0', pid, pgid: pid, startTime, runId: 'run-1' };
  const store = new StateStore(stateDir);
  await store.update((state) => {
    state.processes.push(record);
  });
  process.kill(admin.child.pid, 'SIGKILL');
  expect(await admin.child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  expect(isAlive(pid)).toBe(true);
  expect(readProcStat(pid)?.ppid).not.toBe(admin.child.pid);
  return { stateDir, record };
}

describe('reapOrphans', () => {
  it('kills a worker left by a killed admin, from the state file on disk (SIGKILL when it ignores SIGTERM)', async () => {
    const { stateDir, record } = await orphanAfterAdminKill('hang.mjs');
    const load = await loadStateFile(stateDir);
    expect(load.kind).toBe('loaded');
    const result = await reapOrphans(load.state, { killTimeoutMs: 300 });
    expect(result).toEqual({ killed: [{ record, outcome: 'killed' }], skipped: [] });
    expect(isAlive(record.pid)).toBe(false);
  });

  it('stops an orphan that honours SIGTERM without SIGKILL', async () => {
    const { stateDir, record } = await orphanAfterAdminKill('dump.mjs');
    const result = await reapOrphans((await loadStateFile(stateDir)).state, { killTimeoutMs: 5000 });
    expect(result.killed).toEqual([{ record, outcome: 'terminated' }]);
    expect(isAlive(record.pid)).toBe(false);
  });

  it('leaves alone a recycled pid (start time differs), a gone pid and its own group', async () => {
    const stranger = await runFixture(janitor, 'hang.mjs');
    await stranger.line((l) => l === 'ready');
    const startTime = processStartTime(stranger.child.pid)!;
    const gone = await runFixture(janitor, 'crash.mjs', { exitCode: 0 });
    await gone.child.exited;
    const recycled: ProcessRecord = { identifier: 'a', version: '1.0', pid: stranger.child.pid, pgid: stranger.child.pid, startTime: startTime - 1, runId: 'old' };
    const dead: ProcessRecord = { identifier: 'b', version: '1.0', pid: gone.child.pid, pgid: gone.child.pid, startTime: 1, runId: 'old' };
    const own: ProcessRecord = { identifier: 'c', version: '1.0', pid: process.pid, pgid: process.pid, startTime: processStartTime(process.pid)!, runId: 'old' };
    const result = await reapOrphans([recycled, dead, own], { killTimeoutMs: 100 });
    expect(result.killed).toEqual([]);
    expect(result.skipped).toEqual(expect.arrayContaining([
      { record: recycled, reason: 'recycled' }, { record: dead, reason: 'gone' }, { record: own, reason: 'own-group' },
    ]));
    expect(isAlive(stranger.child.pid)).toBe(true);
  });

  it('leaves alone a pid whose start time matches but that leads another group', async () => {
    const run = await runFixture(janitor, 'hang.mjs');
    await run.line((l) => l === 'ready');
    const record: ProcessRecord = { identifier: 'a', version: '1.0', pid: run.child.pid, pgid: run.child.pid + 100_000, startTime: processStartTime(run.child.pid)!, runId: 'old' };
    const result = await reapOrphans({ processes: [record] }, { killTimeoutMs: 100 });
    expect(result.skipped).toEqual([{ record, reason: 'recycled' }]);
    expect(isAlive(run.child.pid)).toBe(true);
  });

  it('recordProcess reads the start time of a just-spawned worker (and nothing for one already gone)', async () => {
    const run = await runFixture(janitor, 'hang.mjs');
    const record = recordProcess(run.child, { identifier: 'utils-echo-1', version: '1.0', runId: 'r1' });
    expect(record).toEqual({ identifier: 'utils-echo-1', version: '1.0', pid: run.child.pid, pgid: run.child.pgid, startTime: processStartTime(run.child.pid), runId: 'r1' });
    process.kill(run.child.pid, 'SIGKILL');
    await run.child.exited;
    expect(recordProcess(run.child, { identifier: 'utils-echo-1', version: '1.0', runId: 'r1' })).toBeUndefined();
  });
});
