// The registry's indexes of READY connections (dispatch and event delivery look only there) and the warm tie-break.
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { WorkerConnection, type RouterMessageOut } from '../../src/router/connection.js';
import { pickConnection } from '../../src/router/dispatch.js';
import type { PendingCommand } from '../../src/router/pending.js';
import { ConnectionRegistry } from '../../src/router/registry.js';
import { StreamWriter } from '../../src/router/writer.js';

const silent = pino({ level: 'silent' });

function connection(id: number, identifier: string, commands: string[], topics: string[] = [], inFlight = 0): WorkerConnection {
  const writer = new StreamWriter<RouterMessageOut>(new PassThrough({ objectMode: true }), { congestedAt: 10 });
  const c = new WorkerConnection(id, { identifier, version: '1.0', type: 't', product: 'p', admin: false, commands, topics, commandChecks: new Map(), eventChecks: new Map() }, writer, 0, silent);
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
