import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, loadStateFile, stateFilePath } from '../../src/process/state-file.js';
import { emptyState, type StateFile } from '../../src/process/state-schema.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-'));
  dirs.push(dir);
  return dir;
}

const sample: StateFile = {
  version: 1,
  instances: [{ identifier: 'utils-echo-1', type: 'utils', product: 'echo', version: '1.1', params: { greeting: 'hi' } }],
  processes: [{ identifier: 'utils-echo-1', version: '1.1', pid: 4242, pgid: 4242, startTime: 123456, runId: 'run-a' }],
  updateModes: { 'utils/echo': { mode: 'planned', at: '03:00' } },
  previousVersions: { 'utils/echo': '1.0' },
  policies: [{ name: 'nightly', config: { package: 'utils/echo@^1' }, fired: false }],
};

describe('state.json', () => {
  it('is missing on a first start: an empty state', async () => {
    expect(await loadStateFile(tempDir())).toEqual({ kind: 'missing', state: emptyState() });
  });

  it('round-trips every part of the schema, written with mode 0600 and no temp file left', async () => {
    const dir = join(tempDir(), 'nested', 'state');
    const store = new StateStore(dir);
    await store.update((state) => Object.assign(state, structuredClone(sample)));
    expect(statSync(stateFilePath(dir)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(await loadStateFile(dir)).toEqual({ kind: 'loaded', state: sample, warnings: [] });
    const { store: reopened, load } = await StateStore.open(dir);
    expect(load.kind).toBe('loaded');
    expect(reopened.snapshot()).toEqual(sample);
  });

  it('serialises concurrent updates: every change lands, the last state wins', async () => {
    const dir = tempDir();
    const store = new StateStore(dir);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.update((state) => {
      state.processes.push({ identifier: `w${i}`, version: '1.0', pid: 1000 + i, pgid: 1000 + i, startTime: i, runId: 'r' });
    })));
    const onDisk = JSON.parse(readFileSync(stateFilePath(dir), 'utf8')) as StateFile;
    expect(onDisk.processes).toHaveLength(50);
    expect(onDisk).toEqual(store.snapshot());
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('does not let a caller change the stored state through a snapshot', () => {
    const store = new StateStore(tempDir(), sample);
    store.snapshot().instances.pop();
    expect(store.snapshot().instances).toHaveLength(1);
  });

  it('sets a corrupt file aside with a clear error instead of failing every start', async () => {
    const dir = tempDir();
    writeFileSync(stateFilePath(dir), '{"version": 1, "instances": [');
    const load = await loadStateFile(dir, () => 77);
    expect(load.kind).toBe('corrupt');
    if (load.kind !== 'corrupt') return;
    expect(load.state).toEqual(emptyState());
    expect(load.error.code).toBe('STATE_INVALID');
    expect(load.error.message).toMatch(/state\.json: it is not valid JSON .*; it was moved to .*state\.json\.corrupt-77 and the admin starts with an empty state/);
    expect(load.movedTo).toBe(`${stateFilePath(dir)}.corrupt-77`);
    expect(readdirSync(dir).sort()).toEqual(['state.json.corrupt-77']);
    expect((await loadStateFile(dir)).kind).toBe('missing');
  });

  it('refuses another schema version or shape as corrupt', async () => {
    const dir = tempDir();
    writeFileSync(stateFilePath(dir), JSON.stringify({ version: 2 }));
    const load = await loadStateFile(dir);
    expect(load.kind === 'corrupt' && load.error.message).toMatch(/version 2 is not supported \(expected 1\)/);
    writeFileSync(stateFilePath(dir), '[]');
    const again = await loadStateFile(dir);
    expect(again.kind === 'corrupt' && again.error.message).toMatch(/it is not a JSON object/);
  });

  it('drops bad entries, naming each, and keeps the good ones', async () => {
    const dir = tempDir();
    writeFileSync(stateFilePath(dir), JSON.stringify({
      version: 1,
      instances: [sample.instances[0], { identifier: '../x', type: 'utils', product: 'echo', version: '1.0', params: {} }, { identifier: 'b', type: 'utils', product: 'echo', version: '1', params: {} }],
      processes: [sample.processes[0], { identifier: 'x', version: '1.0', pid: 1, pgid: 1, startTime: 5, runId: 'r' }, 'junk'],
      updateModes: { 'utils/echo': { mode: 'sometimes' }, 'mail/smtp': { mode: 'auto', intervalMs: 1000 } },
      previousVersions: { 'utils/echo': 1.1 },
      policies: [{ config: {} }, sample.policies[0]],
    }));
    const load = await loadStateFile(dir);
    expect(load.kind).toBe('loaded');
    if (load.kind !== 'loaded') return;
    expect(load.state.instances).toEqual(sample.instances);
    expect(load.state.processes).toEqual(sample.processes);
    expect(load.state.updateModes).toEqual({ 'mail/smtp': { mode: 'auto', intervalMs: 1000 } });
    expect(load.state.previousVersions).toEqual({});
    expect(load.state.policies).toEqual(sample.policies);
    expect(load.warnings).toEqual([
      'instances[1]: identifier is invalid, entry ignored',
      'instances[2]: version is invalid, entry ignored',
      'processes[1]: pid must be a whole number above 1, entry ignored',
      'processes[2]: not an object, entry ignored',
      'policies[0]: name is missing, entry ignored',
      'updateModes.utils/echo: mode must be manual, auto or planned, entry ignored',
      'previousVersions.utils/echo: must be a "major.minor" version, entry ignored',
    ]);
  });
});
