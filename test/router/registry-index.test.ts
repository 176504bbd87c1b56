// The registry's indexes of READY connections (dispatch and event delivery look only there), the warm tie-break and
// the slow start of a fresh connection.
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WorkerConnection } from '../../src/router/connection.js';
import { pickConnection } from '../../src/router/dispatch.js';
import type { PendingCommand } from '../../src/router/pending.js';
import { depthProblem } from '../../src/router/json-depth.js';
import { MruList } from '../../src/router/mru-list.js';
import { ConnectionRegistry } from '../../src/router/registry.js';
import { commandFingerprint } from '../../src/router/uuid-cache.js';
import { ConnectWriter } from '../../src/router/connect-writer.js';

const silent = pino({ level: 'silent' });

function connection(id: number, identifier: string, commands: string[], topics: string[] = [], inFlight = 0): WorkerConnection {
  const writer = new ConnectWriter(new PassThrough({ objectMode: true }), { congestedAt: 10 });
  const c = new WorkerConnection(id, { identifier, version: '1.0', type: 't', product: 'p', admin: false, tokenSha256: '', commands, topics, commandChecks: new Map(), eventChecks: new Map() }, writer, 0, silent);
  for (let i = 0; i < inFlight; i += 1) c.inFlight.set(`u${i}`, {} as PendingCommand);
  return c;
}

const key = (command: string) => ({ command, target: '', major: '' });

describe('ConnectionRegistry indexes', () => {
  it('lists READY connections by command and topic, and follows drain, close and removal', () => {
    const registry = new ConnectionRegistry();
    const a = connection(1, 'a', ['X', 'Y'], ['news']);
    const b = connection(2, 'b', ['X'], ['news', 'other']);
    registry.add(a);
    registry.add(b);
    expect([...registry.ready('X')]).toEqual([a, b]);
    expect([...registry.ready('Y')]).toEqual([a]);
    expect([...registry.ready('Z')]).toEqual([]);
    expect([...registry.subscribers('news')]).toEqual([a, b]);
    expect(registry.declares('Y')).toBe(true);

    a.transition('DRAINING', 'test');
    expect([...registry.ready('X')]).toEqual([b]);
    expect([...registry.ready('Y')]).toEqual([]);
    expect([...registry.subscribers('news')]).toEqual([b]);
    // A DRAINING connection still declares its commands: they stay known (queued, not NO_WORKER).
    expect(registry.declares('Y')).toBe(true);

    a.transition('CLOSED', 'test');
    expect(registry.declares('Y')).toBe(false);
    expect(registry.declares('X')).toBe(true);
    registry.remove(a);
    registry.remove(b);
    expect(registry.declares('X')).toBe(false);
    expect([...registry.ready('X')]).toEqual([]);
    expect([...registry.subscribers('other')]).toEqual([]);
    expect(registry.size).toBe(0);
  });

  it('a connection removed without a transition leaves every index', () => {
    const registry = new ConnectionRegistry();
    const a = connection(1, 'a', ['X'], ['news']);
    registry.add(a);
    registry.remove(a);
    expect(registry.declares('X')).toBe(false);
    expect([...registry.subscribers('news')]).toEqual([]);
    a.transition('DRAINING', 'after removal');
    expect([...registry.ready('X')]).toEqual([]);
  });
});

describe('pickConnection tie-break', () => {
  it('fewest in flight first; among equals the most recently used; then the one given fewer', () => {
    const a = connection(1, 'a', ['X']);
    const b = connection(2, 'b', ['X']);
    const c = connection(3, 'c', ['X'], [], 1);
    c.usedAt = 99;
    a.usedAt = 5;
    b.usedAt = 7;
    expect(pickConnection([a, b, c], key('X'))).toBe(b);
    b.inFlight.set('busy', {} as PendingCommand);
    expect(pickConnection([a, b, c], key('X'))).toBe(a);
    a.usedAt = 0;
    b.usedAt = 0;
    b.inFlight.clear();
    a.dispatched = 3;
    expect(pickConnection([a, b, c], key('X'))).toBe(b);
  });
});

describe('pickConnection slow start', () => {
  it('a fresh connection beside a warm one holds at most 1 + replies/4 commands; alone it takes everything', () => {
    const warm = connection(1, 'warm', ['X']);
    warm.served = 10_000;
    warm.usedAt = 9;
    const fresh = connection(2, 'fresh', ['X']);
    const hand = (c: WorkerConnection): void => void c.inFlight.set(`c${c.inFlight.size}`, {} as PendingCommand);
    // ten commands at once: least-in-flight alone would split them 5 / 5
    for (let i = 0; i < 10; i += 1) hand(pickConnection([warm, fresh], key('X')) as WorkerConnection);
    expect([warm.inFlight.size, fresh.inFlight.size]).toEqual([9, 1]);
    // as it answers it may hold more: after 8 replies, 1 + 8/4 = 3 at a time
    fresh.inFlight.clear();
    fresh.served = 8;
    warm.inFlight.clear();
    for (let i = 0; i < 10; i += 1) hand(pickConnection([warm, fresh], key('X')) as WorkerConnection);
    expect([warm.inFlight.size, fresh.inFlight.size]).toEqual([7, 3]);
    // warm after 256 replies: plain least-in-flight
    fresh.inFlight.clear();
    fresh.served = 256;
    warm.inFlight.clear();
    for (let i = 0; i < 10; i += 1) hand(pickConnection([warm, fresh], key('X')) as WorkerConnection);
    expect([warm.inFlight.size, fresh.inFlight.size]).toEqual([5, 5]);
    // alone (the warm one gone or full), a fresh connection takes every command: nothing waits for it to warm up
    const alone = connection(3, 'alone', ['X'], [], 40);
    expect(pickConnection([alone], key('X'))).toBe(alone);
    warm.transition('DRAINING', 'test');
    expect(pickConnection([warm, fresh, alone], key('X'))).toBe(fresh);
  });
});

describe('MruList', () => {
  it('keeps touched items first, latest at the front, and survives removal anywhere', () => {
    const list = new MruList<string>();
    for (const x of ['a', 'b', 'c', 'd']) list.add(x);
    list.add('a');
    expect([...list]).toEqual(['a', 'b', 'c', 'd']);
    list.touch('c');
    list.touch('d');
    expect([...list]).toEqual(['d', 'c', 'a', 'b']);
    expect(list.delete('c')).toBe(true);
    expect(list.delete('c')).toBe(false);
    list.touch('b');
    expect([...list]).toEqual(['b', 'd', 'a']);
    list.delete('b');
    list.delete('a');
    expect([...list]).toEqual(['d']);
    list.delete('d');
    expect([...list]).toEqual([]);
    expect(list.size).toBe(0);
    list.add('e');
    list.touch('e');
    expect([...list]).toEqual(['e']);
  });
});

describe('registry dispatch order', () => {
  it('the idle connection that answered last takes the next command; a busier one never does', () => {
    const registry = new ConnectionRegistry();
    const [a, b, c] = [connection(1, 'a', ['X']), connection(2, 'b', ['X']), connection(3, 'c', ['X'])];
    for (const x of [a, b, c]) registry.add(x);
    // Nobody answered yet: the first added (all equal).
    expect(pickConnection(registry.ready('X'), key('X'), true)).toBe(a);
    registry.used(b, 1);
    registry.used(c, 2);
    expect([...registry.ready('X')]).toEqual([c, b, a]);
    expect(pickConnection(registry.ready('X'), key('X'), true)).toBe(c);
    c.inFlight.set('busy', {} as PendingCommand);
    expect(pickConnection(registry.ready('X'), key('X'), true)).toBe(b);
    b.inFlight.set('busy', {} as PendingCommand);
    expect(pickConnection(registry.ready('X'), key('X'), true)).toBe(a);
    a.inFlight.set('busy', {} as PendingCommand);
    a.inFlight.set('busy2', {} as PendingCommand);
    // All busy: the fewest in flight wins, ties to the one that answered last.
    expect(pickConnection(registry.ready('X'), key('X'), true)).toBe(c);
    expect(pickConnection(registry.ready('X'), { command: 'X', target: 'a', major: '' }, true)).toBe(a);
    // The same answer as a full scan in any order.
    expect(pickConnection([a, b, c], key('X'))).toBe(c);
  });
});

describe('commandFingerprint', () => {
  it('tells commands and payloads apart, short or long, and never mixes the two forms', () => {
    const long = JSON.stringify({ text: 'x'.repeat(100) });
    expect(commandFingerprint('C', '{"a":1}')).toBe(commandFingerprint('C', '{"a":1}'));
    expect(commandFingerprint('C', '{"a":1}')).not.toBe(commandFingerprint('D', '{"a":1}'));
    expect(commandFingerprint('C', '{"a":1}')).not.toBe(commandFingerprint('C', '{"a":2}'));
    expect(commandFingerprint('C', long)).toBe(commandFingerprint('C', long));
    expect(commandFingerprint('C', long)).not.toBe(commandFingerprint('C', `${long} `));
    expect(commandFingerprint('C', long).length).toBeLessThan(60);
    expect(commandFingerprint('C', long)).not.toBe(commandFingerprint('C', commandFingerprint('C', long)));
  });
});

describe('depthProblem', () => {
  it('a text no longer than the limit cannot be too deep; one bracket more can', () => {
    expect(depthProblem('['.repeat(4), 4, 'p')).toBeUndefined();
    expect(depthProblem('['.repeat(5), 4, 'p')).toMatch(/nested more than 4 levels/);
    expect(depthProblem(`${'['.repeat(5)}${']'.repeat(5)}`, 4, 'p')).toMatch(/nested more than 4 levels/);
    expect(depthProblem('[[[[]]]]', 4, 'p')).toBeUndefined();
  });
});
