// Placement as a pure function: docs/fleet.md, placement (identifiers, stay, place, not enough room).
import { describe, expect, it } from 'vitest';
import { place, type PlacedConnector, type PlacementHost, type PlacementInput } from '../../src/fleet/placement/place.js';
import type { HostAssignments } from '../../src/fleet/placement/types.js';

const NOW = 1_000_000;
const REASSIGN = 60_000;

function connector(over: Partial<PlacedConnector> = {}): PlacedConnector {
  return { type: 'utils', product: 'echo', version: '1.2.0', major: '1', instances: 6, hosts: {}, config: { greeting: 'hi' }, restart: 'always', ...over };
}

function host(name: string, over: Partial<PlacementHost> = {}): PlacementHost {
  return { name, live: true, leaving: false, labels: {}, capacity: null, cordon: 'none', refuses: new Set(), ...over };
}

const three = (): PlacementHost[] => [host('host-a'), host('host-b'), host('host-c')];

function run(over: Partial<PlacementInput>): ReturnType<typeof place> {
  return place({ connectors: [connector()], hosts: three(), current: new Map(), now: NOW, reassignAfterMs: REASSIGN, countLostFrom: 0, ...over });
}

/** identifier → host, from a result. */
function where(result: ReturnType<typeof place>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, a] of result.assignments) for (const i of a.instances) out[i.identifier] = name;
  return out;
}

function counts(result: ReturnType<typeof place>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, a] of result.assignments) out[name] = a.instances.length;
  return out;
}

/** Current assignments placing `ids` (n of utils/echo 1.x) on each host. */
function current(layout: Record<string, number[]>, over: Partial<HostAssignments> = {}, version = '1.2.0'): Map<string, HostAssignments> {
  return new Map(Object.entries(layout).map(([name, ns]) => [name, {
    at: 1, lostSince: null, ...over,
    instances: ns.map((n) => ({ identifier: `utils-echo-1-${n}`, type: 'utils', product: 'echo', major: '1', n, version, config: { greeting: 'hi' }, restart: 'always' as const })),
  }]));
}

describe('placement', () => {
  it('spreads 6 instances over 3 hosts, 2 each, identifiers 1..6, every host changed', () => {
    const result = run({});
    expect(counts(result)).toEqual({ 'host-a': 2, 'host-b': 2, 'host-c': 2 });
    expect(Object.keys(where(result)).sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => `utils-echo-1-${n}`).sort());
    expect(where(result)['utils-echo-1-1']).toBe('host-a');
    expect(where(result)['utils-echo-1-2']).toBe('host-b');
    expect(where(result)['utils-echo-1-4']).toBe('host-a');
    expect(result.changed).toEqual(['host-a', 'host-b', 'host-c']);
    expect(result.missing).toEqual([]);
    const a = result.assignments.get('host-a')!;
    expect(a).toMatchObject({ at: NOW, lostSince: null });
    expect(a.instances[0]).toEqual({ identifier: 'utils-echo-1-1', type: 'utils', product: 'echo', major: '1', n: 1, version: '1.2.0', config: { greeting: 'hi' }, restart: 'always' });
  });

  it('changes nothing when run again on its own result', () => {
    const first = run({});
    const second = run({ current: first.assignments, now: NOW + 5000 });
    expect(second.changed).toEqual([]);
    expect(second.removed).toEqual([]);
    expect(second.assignments.get('host-a')!.at).toBe(NOW);
  });

  it.each<{ name: string; hosts: PlacementHost[]; sel: Record<string, string>; want: Record<string, number> }>([
    { name: 'a selector limits instances to labelled hosts', hosts: [host('host-a', { labels: { zone: 'eu' } }), host('host-b', { labels: { zone: 'us' } }), host('host-c', { labels: { zone: 'eu', tier: 'x' } })], sel: { zone: 'eu' }, want: { 'host-a': 3, 'host-c': 3 } },
    { name: 'every label of the selector must match', hosts: [host('host-a', { labels: { zone: 'eu' } }), host('host-b', { labels: { zone: 'us' } }), host('host-c', { labels: { zone: 'eu', tier: 'x' } })], sel: { zone: 'eu', tier: 'x' }, want: { 'host-c': 6 } },
    { name: 'capacity caps a host', hosts: [host('host-a', { capacity: 1 }), host('host-b'), host('host-c')], sel: {}, want: { 'host-a': 1, 'host-b': 3, 'host-c': 2 } },
    { name: 'a cordoned host takes nothing new', hosts: [host('host-a', { cordon: 'cordon' }), host('host-b'), host('host-c')], sel: {}, want: { 'host-b': 3, 'host-c': 3 } },
    { name: 'a leaving host takes nothing', hosts: [host('host-a', { leaving: true }), host('host-b'), host('host-c')], sel: {}, want: { 'host-b': 3, 'host-c': 3 } },
    { name: 'a host refusing the connector is skipped for it', hosts: [host('host-a', { refuses: new Set(['utils/echo']) }), host('host-b'), host('host-c')], sel: {}, want: { 'host-b': 3, 'host-c': 3 } },
  ])('$name', ({ hosts, sel, want }) => {
    const result = run({ hosts, connectors: [connector({ hosts: sel })] });
    expect(counts(result)).toEqual(want);
    expect(result.missing).toEqual([]);
  });

  it('capacity counts every fleet-managed instance: fewest of this connector, then fewest in all', () => {
    const mail = connector({ type: 'mail', product: 'smtp', instances: 2 });
    const result = run({ connectors: [connector({ instances: 3 }), mail], hosts: [host('host-a', { capacity: 2 }), host('host-b', { capacity: 2 }), host('host-c', { capacity: 2 })] });
    // mail/smtp first (sorted): a, b; then utils/echo: c (fewest in all), then a, b
    expect(where(result)).toEqual({ 'mail-smtp-1-1': 'host-a', 'mail-smtp-1-2': 'host-b', 'utils-echo-1-1': 'host-c', 'utils-echo-1-2': 'host-a', 'utils-echo-1-3': 'host-b' });
    const full = run({ connectors: [connector({ instances: 5 }), mail], hosts: [host('host-a', { capacity: 2 }), host('host-b', { capacity: 2 }), host('host-c', { capacity: 2 })] });
    expect(full.missing).toEqual([{ product: 'utils/echo', wanted: 5, placed: 4, reason: '3 matching hosts: 3 at capacity' }]);
  });

  it('not enough matching hosts: as many as fit, the rest named with the reason', () => {
    expect(run({ connectors: [connector({ hosts: { zone: 'eu-2' } })] }).missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 0, reason: 'no live host matches {zone: eu-2}' }]);
    expect(run({ hosts: [] }).missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 0, reason: 'no live host' }]);
    const mixed = run({ hosts: [host('host-a', { cordon: 'cordon' }), host('host-b', { cordon: 'drain' }), host('host-c', { refuses: new Set(['utils/echo']) })] });
    expect(mixed.missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 0, reason: '3 matching hosts: 1 cordoned, 1 draining, 1 refusing it (CONFIG_INVALID)' }]);
    const some = run({ hosts: [host('host-a', { capacity: 4 })] });
    expect(counts(some)).toEqual({ 'host-a': 4 });
    expect(some.missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 4, reason: '1 matching host: 1 at capacity' }]);
    const none = run({ connectors: [connector({ version: null, versionError: 'REPOSITORY_UNREACHABLE: down' })] });
    expect(none.missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 0, reason: 'no version to run: REPOSITORY_UNREACHABLE: down' }]);
  });

  it('scaling down removes the highest n and moves nothing else', () => {
    const result = run({ connectors: [connector({ instances: 3 })], current: current({ 'host-a': [1, 4], 'host-b': [2, 5], 'host-c': [3, 6] }) });
    expect(where(result)).toEqual({ 'utils-echo-1-1': 'host-a', 'utils-echo-1-2': 'host-b', 'utils-echo-1-3': 'host-c' });
    expect(result.changed).toEqual(['host-a', 'host-b', 'host-c']);
  });

  it('scaling up keeps every placed instance and places the new ones on the emptiest hosts', () => {
    const result = run({ connectors: [connector({ instances: 4 })], current: current({ 'host-a': [1], 'host-b': [2] }) });
    expect(where(result)).toEqual({ 'utils-echo-1-1': 'host-a', 'utils-echo-1-2': 'host-b', 'utils-echo-1-3': 'host-c', 'utils-echo-1-4': 'host-a' });
    expect(result.changed).toEqual(['host-a', 'host-c']);
  });

  it('a removed connector leaves every host empty (a live host is written empty)', () => {
    const result = run({ connectors: [], current: current({ 'host-a': [1, 4], 'host-b': [2, 5] }) });
    expect(counts(result)).toEqual({ 'host-a': 0, 'host-b': 0 });
    expect(result.changed).toEqual(['host-a', 'host-b']);
  });

  it('no rebalancing: a new host gets nothing already placed', () => {
    const cur = current({ 'host-a': [1, 3, 5], 'host-b': [2, 4, 6] });
    const result = run({ current: cur });
    expect(counts(result)).toEqual({ 'host-a': 3, 'host-b': 3 });
    expect(result.changed).toEqual([]);
  });

  describe('a lost host', () => {
    const hosts = [host('host-a', { live: false }), host('host-b'), host('host-c')];
    const cur = (lostSince: number | null): Map<string, HostAssignments> => {
      const m = current({ 'host-b': [2, 5], 'host-c': [3, 6] });
      m.set('host-a', current({ 'host-a': [1, 4] }, { lostSince }).get('host-a')!);
      return m;
    };

    it('keeps its instances when first seen lost, and records since when', () => {
      const result = run({ hosts, current: cur(null) });
      expect(counts(result)).toEqual({ 'host-a': 2, 'host-b': 2, 'host-c': 2 });
      expect(result.assignments.get('host-a')!.lostSince).toBe(NOW);
      expect(result.changed).toEqual(['host-a']);
    });

    it.each([
      { lostFor: 0, moved: false },
      { lostFor: REASSIGN - 1, moved: false },
      { lostFor: REASSIGN, moved: true },
      { lostFor: REASSIGN * 3, moved: true },
    ])('lost for $lostFor ms: moved $moved', ({ lostFor, moved }) => {
      const result = run({ hosts, current: cur(NOW - lostFor) });
      if (!moved) {
        expect(result.changed).toEqual([]);
        expect(where(result)['utils-echo-1-1']).toBe('host-a');
        return;
      }
      expect(result.assignments.has('host-a')).toBe(false);
      expect(result.removed).toEqual(['host-a']);
      expect(counts(result)).toEqual({ 'host-b': 3, 'host-c': 3 });
    });

    it('a host with assignments and no record at all is lost too', () => {
      const result = run({ hosts: [host('host-b'), host('host-c')], current: cur(NOW - REASSIGN) });
      expect(result.removed).toEqual(['host-a']);
      expect(counts(result)).toEqual({ 'host-b': 3, 'host-c': 3 });
    });

    it('a new coordinator counts from its takeover, never from an earlier record: it may wait longer, never shorter', () => {
      const takeover = NOW - 1000;
      const kept = run({ hosts, current: cur(NOW - REASSIGN * 2), countLostFrom: takeover });
      expect(kept.assignments.get('host-a')).toMatchObject({ lostSince: takeover });
      expect(where(kept)['utils-echo-1-1']).toBe('host-a');
      expect(kept.changed).toEqual(['host-a']);
      // a count that began after the takeover is kept as it is
      expect(run({ hosts, current: cur(NOW - 10), countLostFrom: takeover }).changed).toEqual([]);
      const moved = run({ hosts, current: cur(takeover), countLostFrom: takeover, now: takeover + REASSIGN });
      expect(moved.removed).toEqual(['host-a']);
    });

    it('live again: lostSince cleared, instances stay', () => {
      const result = run({ current: cur(NOW - 10) });
      expect(result.assignments.get('host-a')).toMatchObject({ lostSince: null });
      expect(counts(result)).toEqual({ 'host-a': 2, 'host-b': 2, 'host-c': 2 });
      expect(result.changed).toEqual(['host-a']);
    });
  });

  it.each([
    { name: 'leaving', a: { leaving: true } },
    { name: 'draining', a: { cordon: 'drain' as const } },
    { name: 'no longer matching the selector', a: { labels: { zone: 'us' } } },
    { name: 'refusing it', a: { refuses: new Set(['utils/echo']) } },
  ])('an instance moves at once off a host $name', ({ a }) => {
    const sel = { zone: 'eu' };
    const hosts = [host('host-a', { labels: sel, ...a }), host('host-b', { labels: sel }), host('host-c', { labels: sel })];
    const result = run({ hosts, connectors: [connector({ hosts: sel })], current: current({ 'host-a': [1, 4], 'host-b': [2, 5], 'host-c': [3, 6] }) });
    expect(result.assignments.get('host-a')!.instances).toEqual([]);
    expect(counts(result)).toEqual({ 'host-a': 0, 'host-b': 3, 'host-c': 3 });
    expect(result.changed).toEqual(['host-a', 'host-b', 'host-c']);
  });

  it('a cordoned host keeps what it runs but takes nothing new', () => {
    const hosts = [host('host-a', { cordon: 'cordon' }), host('host-b'), host('host-c')];
    const result = run({ hosts, connectors: [connector({ instances: 9 })], current: current({ 'host-a': [1, 4], 'host-b': [2, 5], 'host-c': [3, 6] }) });
    expect(counts(result)).toEqual({ 'host-a': 2, 'host-b': 4, 'host-c': 3 });
    expect(result.changed).toEqual(['host-b', 'host-c']);
  });

  it('a host over a lowered capacity keeps its first instances; the rest move', () => {
    const hosts = [host('host-a', { capacity: 1 }), host('host-b'), host('host-c')];
    const result = run({ hosts, current: current({ 'host-a': [1, 4], 'host-b': [2, 5], 'host-c': [3, 6] }) });
    expect(where(result)['utils-echo-1-1']).toBe('host-a');
    expect(where(result)['utils-echo-1-4']).toBe('host-b');
    expect(counts(result)).toEqual({ 'host-a': 1, 'host-b': 3, 'host-c': 2 });
  });

  it('an identifier listed on two hosts is kept once, on the live one', () => {
    const cur = current({ 'host-a': [1], 'host-b': [1, 2] });
    cur.set('host-a', { ...cur.get('host-a')!, lostSince: NOW });
    const result = run({ hosts: [host('host-a', { live: false }), host('host-b'), host('host-c')], connectors: [connector({ instances: 2 })], current: cur });
    expect(where(result)).toEqual({ 'utils-echo-1-1': 'host-b', 'utils-echo-1-2': 'host-b' });
    expect(result.removed).toEqual(['host-a']);
  });

  describe('versions and config', () => {
    it('config and restart changes reach every instance in place', () => {
      const result = run({ connectors: [connector({ config: { greeting: 'hello' }, restart: 'never' })], current: current({ 'host-a': [1, 4], 'host-b': [2, 5], 'host-c': [3, 6] }) });
      expect(result.changed).toEqual(['host-a', 'host-b', 'host-c']);
      for (const a of result.assignments.values()) for (const i of a.instances) expect(i).toMatchObject({ config: { greeting: 'hello' }, restart: 'never' });
      expect(counts(result)).toEqual({ 'host-a': 2, 'host-b': 2, 'host-c': 2 });
    });

    it('config compared whatever the key order', () => {
      const cur = current({ 'host-a': [1] });
      cur.get('host-a')!.instances[0]!.config = { b: 2, a: 1 };
      const result = run({ connectors: [connector({ instances: 1, config: { a: 1, b: 2 } })], current: cur });
      expect(result.changed).toEqual([]);
    });

    it('only a rollout changes versions: a recorded version that changed reaches new identifiers only', () => {
      const cur = current({ 'host-a': [1, 4], 'host-b': [2, 5] });
      cur.get('host-a')!.instances[0]!.version = '1.3.0';
      const result = run({ connectors: [connector({ version: '1.2.5' })], current: cur });
      const versions = Object.fromEntries([...result.assignments.values()].flatMap((a) => a.instances.map((i) => [i.identifier, i.version])));
      expect(versions).toEqual({ 'utils-echo-1-1': '1.3.0', 'utils-echo-1-2': '1.2.0', 'utils-echo-1-3': '1.2.5', 'utils-echo-1-4': '1.2.0', 'utils-echo-1-5': '1.2.0', 'utils-echo-1-6': '1.2.5' });
      expect(result.changed).toEqual(['host-c']);
    });

    it('a moved identifier keeps its version (a rollout set it)', () => {
      const cur = current({ 'host-a': [1, 4], 'host-b': [2, 5], 'host-c': [3, 6] });
      cur.get('host-a')!.instances[1]!.version = '1.3.0';
      const result = run({ hosts: [host('host-a', { leaving: true }), host('host-b'), host('host-c')], connectors: [connector({ version: '1.2.0' })], current: cur });
      const moved = [...result.assignments.values()].flatMap((a) => a.instances).find((i) => i.identifier === 'utils-echo-1-4')!;
      expect(moved.version).toBe('1.3.0');
      expect(where(result)['utils-echo-1-4']).not.toBe('host-a');
    });

    it('a lost host\'s identifiers keep their version when they move', () => {
      const cur = current({ 'host-a': [1], 'host-b': [2] }, { lostSince: NOW - REASSIGN }, '1.1.0');
      const result = run({ hosts: [host('host-b'), host('host-c')], connectors: [connector({ instances: 2 })], current: cur });
      expect(result.assignments.get('host-c')!.instances).toMatchObject([{ identifier: 'utils-echo-1-1', version: '1.1.0' }]);
    });

    it('no version resolved: placed instances keep theirs (and move with it), nothing new is placed', () => {
      const result = run({ hosts: [host('host-a', { cordon: 'drain' }), host('host-b'), host('host-c')], connectors: [connector({ version: null, versionError: 'down' })], current: current({ 'host-a': [1] }) });
      expect(where(result)).toEqual({ 'utils-echo-1-1': 'host-b' });
      expect(result.missing).toEqual([{ product: 'utils/echo', wanted: 6, placed: 1, reason: 'no version to run: down' }]);
    });

    it('identifiers carry the major: another major is a new set of identifiers', () => {
      const result = run({ connectors: [connector({ version: '2.0.0', major: '2', instances: 2 })], current: current({ 'host-a': [1], 'host-b': [2] }) });
      expect(where(result)).toEqual({ 'utils-echo-2-1': 'host-a', 'utils-echo-2-2': 'host-b' });
    });
  });
});
