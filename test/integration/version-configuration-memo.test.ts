// Step 1 of a start asks the router's store every time, but parses the same stored texts only once (frozen, shared).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { VersionConfigurations } from '../../src/admin/version-configuration.js';
import type { RepositoryClient } from '../../src/repository/client.js';
import { toStored, type VersionConfiguration } from '../../src/repository/stored.js';
import type { RouterRpc } from '../../src/sdk/rpc.js';
import type { StoredConfiguration } from '../../src/proto/types.js';

const REF = { type: 'utils', product: 'memo', version: '1.0' };
const conf = (command: string): VersionConfiguration => ({
  layers: [{ layer: 'product', keys: [{ name: 'greeting', type: 'string', default: 'hello' }] }],
  pivot: { commands: [{ name: command, schema: { type: 'object' } }], events: [] },
});

/** A store that answers `stored` (changeable) and counts the asks. */
function fakeStore(first: StoredConfiguration) {
  const state = { stored: first, asks: 0 };
  const rpc = { getConfiguration: async () => { state.asks += 1; return state.stored; } } as unknown as RouterRpc;
  const repository = { fetchConfiguration: async () => { throw new Error('not expected: the store has it'); } } as unknown as RepositoryClient;
  return { state, deps: { rpc, repository, logger: createLogger('test', { level: 'silent' }) } };
}

describe('VersionConfigurations', () => {
  it('asks the store on every start, reuses the parse of identical texts, and parses again when they change', async () => {
    const { state, deps } = fakeStore(toStored(REF, conf('ECHO'), 1));
    const configurations = new VersionConfigurations();
    const a = await configurations.load(REF, deps);
    const b = await configurations.load(REF, deps);
    expect(state.asks).toBe(2);
    expect(b).toBe(a);
    expect(a.pivot.commands.map((c) => c.name)).toEqual(['ECHO']);
    expect(Object.isFrozen(a.pivot.commands[0])).toBe(true); // shared by every instance: nobody may change it
    expect(() => { (a.layers as unknown[]).push({}); }).toThrow();

    state.stored = toStored(REF, conf('SHOUT'), 2);
    const c = await configurations.load(REF, deps);
    expect(c).not.toBe(a);
    expect(c.pivot.commands.map((x) => x.name)).toEqual(['SHOUT']);
    expect(a.pivot.commands.map((x) => x.name)).toEqual(['ECHO']);
  });

  it('keeps its parses to itself: two admins in one process never share one', async () => {
    const { deps } = fakeStore(toStored(REF, conf('ECHO'), 1));
    const first = new VersionConfigurations();
    const second = new VersionConfigurations();
    const a = await first.load(REF, deps);
    const b = await second.load(REF, deps);
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    expect(await first.load(REF, deps)).toBe(a);
  });
});
