// Pure parts of the router: dispatch choice, replay cache, queue, backpressure writer, pivot index.
import { PassThrough, Writable } from 'node:stream';
import { Metadata } from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Reply } from '../../src/proto/types.js';
import { TokenChecker } from '../../src/router/auth.js';
import { WorkerConnection } from '../../src/router/connection.js';
import { pickConnection } from '../../src/router/dispatch.js';
import { PendingCommand } from '../../src/router/pending.js';
import { pivotCommands, PivotIndex } from '../../src/router/pivots.js';
import { CommandQueue } from '../../src/router/queue.js';
import { commandFingerprint, UuidCache } from '../../src/router/uuid-cache.js';
import { StreamWriter } from '../../src/router/writer.js';
import { ConnectWriter } from '../../src/router/connect-writer.js';

const silent = pino({ level: 'silent' });

function connection(id: number, identifier: string, version: string, commands: string[], inFlight = 0): WorkerConnection {
  const writer = new ConnectWriter(new PassThrough({ objectMode: true }), { congestedAt: 10 });
  const c = new WorkerConnection(id, { identifier, version, type: 't', product: 'p', admin: false, tokenSha256: '', commands, topics: [], commandChecks: new Map(), eventChecks: new Map() }, writer, 0, silent);
  for (let i = 0; i < inFlight; i += 1) c.inFlight.set(`u${i}`, {} as PendingCommand);
  return c;
}

describe('pickConnection', () => {
  it('takes the READY connection serving the command with the fewest in flight, honouring target and major', () => {
    const a = connection(1, 'a', '1.0', ['X'], 3);
    const b = connection(2, 'b', '1.1', ['X'], 1);
    const c = connection(3, 'c', '2.0', ['X', 'Y'], 2);
    const all = [a, b, c];
    expect(pickConnection(all, { command: 'X', target: '', major: '' })).toBe(b);
    expect(pickConnection(all, { command: 'Y', target: '', major: '' })).toBe(c);
    expect(pickConnection(all, { command: 'X', target: 'a', major: '' })).toBe(a);
    expect(pickConnection(all, { command: 'X', target: '', major: '2' })).toBe(c);
    expect(pickConnection(all, { command: 'X', target: 'a', major: '2' })).toBeUndefined();
    expect(pickConnection(all, { command: 'Z', target: '', major: '' })).toBeUndefined();
    b.transition('DRAINING', 'test');
    expect(pickConnection(all, { command: 'X', target: '', major: '' })).toBe(c);
  });

  it('breaks ties by the number dispatched so far', () => {
    const a = connection(1, 'a', '1.0', ['X']);
    const b = connection(2, 'b', '1.0', ['X']);
    a.dispatched = 5;
    expect(pickConnection([a, b], { command: 'X', target: '', major: '' })).toBe(b);
  });

  it('refuses illegal state transitions', () => {
    const a = connection(1, 'a', '1.0', ['X']);
    expect(a.transition('CLOSED', 'gone')).toBe(true);
    expect(a.transition('READY', 'back')).toBe(false);
    expect(a.state).toBe('CLOSED');
  });
});

describe('UuidCache', () => {
  const reply = (uuid: string): Reply => ({ uuid, status: 'SUCCESS', payload: '1', error: '', worker: 'w@1.0' });

  it('replays pending and answered uuids, detects conflicts, forgets after the window', async () => {
    let now = 0;
    const cache = new UuidCache({ windowMs: 1000, maxEntries: 100, maxBytes: 1e6 }, () => now);
    const fp = commandFingerprint('C', '{}');
    expect(cache.lookup('u', fp)).toEqual({ kind: 'new' });
    cache.begin('u', fp, { reply: Promise.resolve(reply('u')) });
    expect(cache.lookup('u', fp).kind).toBe('replay');
    expect(cache.lookup('u', commandFingerprint('C', '{"a":1}')).kind).toBe('conflict');
    cache.finish('u', reply('u'));
    const replay = cache.lookup('u', fp);
    expect(replay.kind).toBe('replay');
    if (replay.kind === 'replay') expect(await replay.reply).toEqual(reply('u'));
    now = 999;
    expect(cache.lookup('u', fp).kind).toBe('replay');
    now = 1000;
    expect(cache.lookup('u', fp)).toEqual({ kind: 'new' });
  });

  it('keeps at most maxEntries answers, oldest forgotten first', () => {
    const cache = new UuidCache({ windowMs: 1e9, maxEntries: 2, maxBytes: 1e9 }, () => 0);
    for (const u of ['a', 'b', 'c']) {
      cache.begin(u, 'fp', { reply: Promise.resolve(reply(u)) });
      cache.finish(u, reply(u));
    }
    expect(cache.lookup('a', 'fp')).toEqual({ kind: 'new' });
    expect(cache.lookup('c', 'fp').kind).toBe('replay');
    expect(cache.size.answered).toBe(2);
  });
});

describe('UuidCache between sweeps', () => {
  const reply = (uuid: string): Reply => ({ uuid, status: 'SUCCESS', payload: '1', error: '', worker: 'w@1.0' });

  it('forgets an answer at the end of its window even when no sweep ran; a new answer of that uuid counts from then', () => {
    let now = 0;
    const cache = new UuidCache({ windowMs: 1000, maxEntries: 100, maxBytes: 1e6 }, () => now);
    const answer = (u: string) => {
      cache.begin(u, 'fp', { reply: Promise.resolve(reply(u)) });
      cache.finish(u, reply(u));
    };
    answer('u');
    now = 400;
    answer('v'); // finish sweeps at most once a second: none runs here
    now = 1000;
    expect(cache.lookup('u', 'fp')).toEqual({ kind: 'new' });
    answer('u'); // answered again at 1000: now the newest entry
    now = 1400;
    expect(cache.lookup('v', 'fp')).toEqual({ kind: 'new' });
    expect(cache.lookup('u', 'fp').kind).toBe('replay');
    now = 1999;
    cache.expire();
    expect(cache.lookup('u', 'fp').kind).toBe('replay');
    now = 2000;
    expect(cache.lookup('u', 'fp')).toEqual({ kind: 'new' });
  });
});

describe('WorkerConnection.remember', () => {
  it('keeps the last 4096 uuids given, forgetting the oldest first', () => {
    const c = connection(1, 'w', '1.0', ['C']);
    for (let i = 0; i <= 4096; i += 1) c.remember(`u${i}`);
    expect(c.wasGiven('u0')).toBe(false);
    expect(c.wasGiven('u1')).toBe(true);
    expect(c.wasGiven('u4096')).toBe(true);
    c.remember('u4097');
    expect(c.wasGiven('u1')).toBe(false);
    expect(c.wasGiven('u2')).toBe(true);
  });
});

describe('CommandQueue', () => {
  it('is bounded, ordered and removable from the middle', () => {
    const q = new CommandQueue(2);
    const p = (uuid: string) => new PendingCommand({ uuid, command: 'C', payload: '{}', timeout_ms: 1, target: '', major: '', context: {}, product: '' }, {}, 0, 1);
    const [a, b, c] = [p('a'), p('b'), p('c')];
    expect(q.push(a)).toBe(true);
    expect(q.push(b)).toBe(true);
    expect(q.push(c)).toBe(false);
    expect(q.remove(a)).toBe(true);
    expect(q.remove(a)).toBe(false);
    expect(q.push(c)).toBe(true);
    expect(q.snapshot().map((x) => x.uuid)).toEqual(['b', 'c']);
  });
});

describe('StreamWriter', () => {
  /** A stream that accepts one message then holds the rest until released. */
  function slowStream() {
    const written: number[] = [];
    const callbacks: Array<() => void> = [];
    const stream = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(chunk: number, _enc, cb) {
        written.push(chunk);
        callbacks.push(() => cb());
      },
    });
    const release = () => {
      while (callbacks.length > 0) callbacks.shift()!();
    };
    return { stream, written, release };
  }

  it('stops writing at write() === false, holds, flushes on drain, in order', async () => {
    const { stream, written, release } = slowStream();
    let relieved = 0;
    const writer = new StreamWriter<number>(stream, { congestedAt: 3, onRelief: () => (relieved += 1) });
    for (let i = 0; i < 5; i += 1) writer.send(i);
    expect(written).toEqual([0]);
    expect(writer.buffered).toBe(4);
    expect(writer.congested).toBe(true);
    expect(writer.offer(99)).toBe(false);
    for (let i = 0; i < 10 && writer.buffered > 0; i += 1) {
      release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    release();
    expect(written).toEqual([0, 1, 2, 3, 4]);
    expect(writer.congested).toBe(false);
    expect(relieved).toBe(1);
  });

  it('ends only after held messages are written', async () => {
    const { stream, written, release } = slowStream();
    let finished = false;
    stream.on('finish', () => (finished = true));
    const writer = new StreamWriter<number>(stream, { congestedAt: 100 });
    writer.send(1);
    writer.send(2);
    writer.end();
    expect(writer.send(3)).toBe(false);
    for (let i = 0; i < 10 && !finished; i += 1) {
      release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(written).toEqual([1, 2]);
    expect(finished).toBe(true);
  });
});

describe('pivot index', () => {
  it('reads command names from pivot_json and tracks replacements', () => {
    expect(pivotCommands('{"commands":[{"name":"A"},{"name":"B","schema":{}}],"events":[{"name":"E"}]}')).toEqual(['A', 'B']);
    expect(pivotCommands('not json')).toEqual([]);
    const index = new PivotIndex();
    const key = { type: 't', product: 'p', major: '1', minor: '0' };
    index.record({ key, found: true, layers_json: '', pivot_json: '{"commands":[{"name":"A"}]}', saved_at_ms: 0 });
    expect(index.declares('A')).toBe(true);
    index.record({ key, found: true, layers_json: '', pivot_json: '{"commands":[{"name":"B"}]}', saved_at_ms: 0 });
    expect(index.declares('A')).toBe(false);
    expect(index.declares('B')).toBe(true);
  });
});

describe('TokenChecker', () => {
  const admin = 'a'.repeat(40);
  const client = 'c'.repeat(40);
  const md = (value?: string) => {
    const m = new Metadata();
    if (value !== undefined) m.set('authorization', value);
    return m;
  };

  it('tells admin, client, invalid and none apart, before and after a token was proven', () => {
    const tokens = new TokenChecker(admin, client);
    for (let round = 0; round < 2; round += 1) {
      expect(tokens.callerOf(md(`Bearer ${admin}`))).toBe('admin');
      expect(tokens.callerOf(md(`Bearer ${client}`))).toBe('client');
      // near misses of a proven token stay invalid: only exact proven texts are remembered
      expect(tokens.callerOf(md(`Bearer ${admin}x`))).toBe('invalid');
      expect(tokens.callerOf(md(`Bearer ${admin.slice(1)}`))).toBe('invalid');
      expect(tokens.callerOf(md(`Bearer ${'b'.repeat(40)}`))).toBe('invalid');
      expect(tokens.callerOf(md())).toBe('none');
    }
    const adminOnly = new TokenChecker(admin, undefined);
    expect(adminOnly.callerOf(md(`Bearer ${client}`))).toBe('invalid');
    expect(adminOnly.callerOf(md(`Bearer ${admin}`))).toBe('admin');
  });
});
