// state.json's process records: the start time is read once at spawn (not from /proc on every change), and a
// burst of changes is written from the registry as it is when the write happens.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { AdminPersistence } from '../../src/admin/persistence.js';
import type { InstanceRegistry } from '../../src/admin/instances.js';
import { createProcessSpawner, type ProcessWorker } from '../../src/admin/spawner.js';
import { readProcStat } from '../../src/process/proc.js';
import { stateFilePath } from '../../src/process/state-file.js';
import type { DesiredInstance, StateFile } from '../../src/process/state-schema.js';
import { Janitor, fixture, waitFor } from '../process/helpers.js';

const logger = createLogger('test', { level: 'silent' });
const janitor = new Janitor();
const dirs: string[] = [];
afterEach(() => {
  janitor.cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-persist-'));
  dirs.push(dir);
  return dir;
}

interface FakeInstance { identifier: string; live: boolean; spec: { version: string }; worker: unknown }

/** The two registry methods persistence reads, over a list the test changes. */
function fakeRegistry(instances: FakeInstance[]): InstanceRegistry {
  const desired = (): DesiredInstance[] => instances.filter((i) => i.live)
    .map((i) => ({ identifier: i.identifier, type: 'utils', product: 'echo', version: i.spec.version, params: {} }));
  return { all: () => instances, desired } as unknown as InstanceRegistry;
}

describe('process spawner start time', () => {
  it('is the /proc start time read at spawn, and undefined once the worker exited', async () => {
    const spawner = createProcessSpawner({ logger });
    const worker = await spawner.spawn({
      identifier: 'w-1', version: '1.0', command: process.execPath, args: [fixture('dump.mjs')], cwd: tmpdir(), stdinLine: '{}', runAs: undefined,
    }) as ProcessWorker;
    janitor.track(worker.pgid);
    expect(worker.startTime).toBeTypeOf('number');
    expect(worker.startTime).toBe(readProcStat(worker.pid)?.startTime);
    let seenByWaiter: number | undefined = -1;
    const waiter = worker.exited.then(() => { seenByWaiter = worker.startTime; });
    await spawner.stop(worker, 2000);
    await waiter;
    expect(seenByWaiter).toBeUndefined();
  });
});

describe('AdminPersistence.changed', () => {
  it('records the spawn-time start time, skips exited workers and reads /proc only for other spawners', async () => {
    const dir = tempDir();
    const { persistence } = await AdminPersistence.open(dir, { logger, killTimeoutMs: 1000 });
    const recorded = { pid: 999_999_1, pgid: 999_999_1, startTime: 42, exited: new Promise(() => undefined) };
    const gone = { pid: 999_999_2, pgid: 999_999_2, startTime: undefined, exited: Promise.resolve({ code: 0, signal: null }) };
    const plain = { pid: process.pid, exited: new Promise(() => undefined) }; // a test spawner's worker: no startTime
    const instances: FakeInstance[] = [
      { identifier: 'a', live: true, spec: { version: '1.0' }, worker: recorded },
      { identifier: 'b', live: true, spec: { version: '1.0' }, worker: gone },
      { identifier: 'c', live: true, spec: { version: '1.1' }, worker: plain },
      { identifier: 'd', live: false, spec: { version: '1.0' }, worker: recorded },
    ];
    persistence.attach(fakeRegistry(instances));
    persistence.changed();
    const processes = persistence.snapshot().processes;
    expect(processes.map((p) => [p.identifier, p.pid, p.startTime])).toEqual([
      ['a', 999_999_1, 42],
      ['c', process.pid, readProcStat(process.pid)?.startTime],
    ]);
    expect(processes.every((p) => p.runId === persistence.runId)).toBe(true);
  });

  it('writes the registry as it is at write time after a burst, and keeps the desired set once frozen', async () => {
    const dir = tempDir();
    const { persistence } = await AdminPersistence.open(dir, { logger, killTimeoutMs: 1000 });
    const instances: FakeInstance[] = [];
    persistence.attach(fakeRegistry(instances));
    for (let i = 0; i < 50; i += 1) {
      instances.push({ identifier: `w-${i}`, live: true, spec: { version: '1.0' }, worker: { pid: 900_000 + i, pgid: 900_000 + i, startTime: i, exited: new Promise(() => undefined) } });
      persistence.changed();
    }
    const read = (): StateFile => JSON.parse(readFileSync(stateFilePath(dir), 'utf8')) as StateFile;
    await waitFor(() => read().processes.length === 50, 'all 50 processes in state.json');
    expect(read().instances).toHaveLength(50);
    persistence.freezeDesired();
    for (const i of instances) i.live = false;
    persistence.changed();
    await waitFor(() => read().processes.length === 0, 'processes cleared');
    expect(read().instances).toHaveLength(50);
  });
});
