// StateStore.defer: a change recomputed from live data runs once per write or read, however many were asked for.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, stateFilePath } from '../../src/process/state-file.js';
import type { StateFile } from '../../src/process/state-schema.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-defer-'));
  dirs.push(dir);
  return dir;
}
const onDisk = (dir: string): StateFile => JSON.parse(readFileSync(stateFilePath(dir), 'utf8')) as StateFile;

describe('StateStore.defer', () => {
  it('folds a burst of deferred changes into the writes: the live value at write time lands, computed once per write', async () => {
    const dir = tempDir();
    const store = new StateStore(dir);
    let live = 0;
    let computed = 0;
    const fill = (s: StateFile): void => {
      computed += 1;
      s.previousVersions['utils/echo'] = `1.${live}`;
    };
    const writes = Array.from({ length: 100 }, () => {
      live += 1;
      return store.defer(fill);
    });
    await Promise.all(writes);
    expect(onDisk(dir).previousVersions).toEqual({ 'utils/echo': '1.100' });
    expect(computed).toBeLessThanOrEqual(2); // the first write, then one more for everything asked meanwhile
  });

  it('applies a pending deferred change before a snapshot and before a later update', async () => {
    const dir = tempDir();
    const store = new StateStore(dir);
    await store.update(() => undefined);
    const first = store.defer((s) => { s.previousVersions['a/b'] = '1.0'; });
    const second = store.defer((s) => { s.previousVersions['a/b'] = '1.1'; }); // replaces the first (not yet run)
    expect(store.snapshot().previousVersions).toEqual({ 'a/b': '1.1' });
    const third = store.defer((s) => { s.previousVersions['c/d'] = '2.0'; });
    const update = store.update((s) => { s.previousVersions['c/d'] = '3.0'; }); // later than the deferral: it wins
    await Promise.all([first, second, third, update]);
    expect(onDisk(dir).previousVersions).toEqual({ 'a/b': '1.1', 'c/d': '3.0' });
  });

  it('settle() runs the pending change at once, and only once', async () => {
    const store = new StateStore(tempDir());
    await store.update(() => undefined);
    let runs = 0;
    const writing = store.update(() => undefined); // a write in progress: the deferral waits for the next one
    const deferred = store.defer(() => { runs += 1; });
    store.settle();
    store.settle();
    store.snapshot();
    expect(runs).toBe(1);
    await Promise.all([writing, deferred]);
    expect(runs).toBe(1);
  });
});
