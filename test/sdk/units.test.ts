// Pure pieces of the SDK: one reply per command, backpressure-aware writes, the state table.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Command } from '../../src/proto/types.js';
import { runCommand, type WorkerReply } from '../../src/sdk/command-runner.js';
import { CommandSignal } from '../../src/sdk/command-signal.js';
import { Lifecycle } from '../../src/sdk/lifecycle.js';
import { toEventMessage, toJsonText } from '../../src/sdk/messages.js';
import { commandDeadlineMs } from '../../src/sdk/rpc.js';
import { createStreamWriter } from '../../src/sdk/stream-writer.js';

const cmd = (over: Partial<Command> = {}): Command => ({ uuid: 'u1', command: 'ECHO', payload: '{"a":1}', timeout_ms: 0, target: '', major: '', context: {}, product: '', ...over });
const never = new AbortController().signal;
/** runCommand's one reply, as a promise. */
const run = (...args: Parameters<typeof runCommand> extends [...infer A, unknown] ? A : never): Promise<WorkerReply> =>
  new Promise((resolve) => runCommand(...args, resolve));
/** A handler's context and what ends the command, as runCommand makes them. */
const lazyCommandContext = (uuid: string, command: string, stop: AbortSignal, timeoutMs: number) => {
  const signal = new CommandSignal(stop, timeoutMs);
  return { ctx: signal.context(uuid, command), dispose: () => signal.dispose() };
};

describe('runCommand', () => {
  it('turns a return value into SUCCESS with JSON, undefined into null', async () => {
    expect(await run(cmd(), async (p) => p, never)).toEqual({ uuid: 'u1', status: 'SUCCESS', payload: '{"a":1}', error: '' });
    expect((await run(cmd(), () => undefined, never)).payload).toBe('null');
  });

  it('turns a throw, an unknown command and an unserialisable result into FAIL with a message', async () => {
    expect(await run(cmd(), () => { throw new Error('boom'); }, never)).toMatchObject({ status: 'FAIL', error: 'boom' });
    expect(await run(cmd(), undefined, never)).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/UNKNOWN_COMMAND.*ECHO/) });
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(await run(cmd(), () => circular, never)).toMatchObject({ status: 'FAIL', error: expect.stringMatching(/circular/i) });
    expect(await run(cmd(), () => 1n, never)).toMatchObject({ status: 'FAIL' });
  });

  it('answers a plain value within the call, a promise once it settles, a thenable that calls back twice once', async () => {
    const replies: WorkerReply[] = [];
    runCommand(cmd(), (p) => p, never, (r) => replies.push(r));
    expect(replies).toEqual([{ uuid: 'u1', status: 'SUCCESS', payload: '{"a":1}', error: '' }]);
    runCommand(cmd({ uuid: 'u2' }), () => { throw new Error('sync boom'); }, never, (r) => replies.push(r));
    expect(replies[1]).toMatchObject({ uuid: 'u2', status: 'FAIL', error: 'sync boom' });
    const twice = { then: (ok: (v: unknown) => void, fail: (e: unknown) => void) => { ok(1); ok(2); fail(new Error('late')); } };
    const later = new Promise<void>((resolve) => runCommand(cmd({ uuid: 'u3' }), () => twice, never, (r) => { replies.push(r); resolve(); }));
    expect(replies).toHaveLength(2);
    await later;
    await new Promise((r) => setImmediate(r));
    expect(replies.slice(2)).toEqual([{ uuid: 'u3', status: 'SUCCESS', payload: '1', error: '' }]);
  });

  it("aborts the handler's signal at the command's timeout", async () => {
    const reply = await run(cmd({ timeout_ms: 20 }), (_p, ctx) => new Promise((_r, reject) => {
      ctx.signal.addEventListener('abort', () => reject(new Error('aborted by timeout')));
    }), never);
    expect(reply).toMatchObject({ status: 'FAIL', error: 'aborted by timeout' });
  });
});

describe('lazyCommandContext', () => {
  // the command's timeout runs on a clock the test moves (timers and performance.now)
  const fakeClock = (): void => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  afterEach(() => void vi.useRealTimers());

  it('makes no signal, timer or stop listener unless the handler reads ctx.signal', async () => {
    fakeClock();
    const stop = new AbortController();
    let added = 0;
    const original = stop.signal.addEventListener.bind(stop.signal);
    stop.signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
      added += 1;
      return original(...args);
    }) as AbortSignal['addEventListener'];
    expect(await run(cmd({ timeout_ms: 50 }), async (p) => p, stop.signal)).toMatchObject({ status: 'SUCCESS' });
    expect(added).toBe(0);
    let seen: AbortSignal | undefined;
    await run(cmd({ timeout_ms: 50 }), (_p, ctx) => { seen = ctx.signal; return 1; }, stop.signal);
    expect(added).toBe(1);
    // answered: the timeout no longer fires and stopping the worker no longer reaches the old command
    stop.abort(new Error('stopped'));
    vi.advanceTimersByTime(80);
    expect(seen?.aborted).toBe(false);
  });

  it('aborts on the worker stop with its reason, also when read through a spread or after the stop', async () => {
    const stop = new AbortController();
    const { ctx, dispose } = lazyCommandContext('u', 'ECHO', stop.signal, 0);
    const copy = { ...ctx };
    expect(copy.signal).toBe(ctx.signal);
    const reason = new Error('worker stopping');
    stop.abort(reason);
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe(reason);
    dispose();
    const late = lazyCommandContext('u2', 'ECHO', stop.signal, 0);
    expect(late.ctx.signal.aborted).toBe(true);
    late.dispose();
  });

  it('gives every context the same getter for signal, and only uuid, command and signal as its own keys', () => {
    // a getter made per command (an object literal's) kept each command's objects through young-generation collections
    const a = lazyCommandContext('u1', 'ECHO', never, 0);
    const b = lazyCommandContext('u2', 'PING', never, 0);
    const getterOf = (ctx: object) => Object.getOwnPropertyDescriptor(ctx, 'signal')?.get;
    expect(getterOf(a.ctx)).toBeTypeOf('function');
    expect(getterOf(a.ctx)).toBe(getterOf(b.ctx));
    expect(Object.keys(a.ctx)).toEqual(['uuid', 'command', 'signal']);
    expect({ ...b.ctx }).toEqual({ uuid: 'u2', command: 'PING', signal: b.ctx.signal });
    a.dispose();
    b.dispose();
  });

  it('times out from when the command arrived, with a TimeoutError like AbortSignal.timeout', async () => {
    fakeClock();
    const { ctx, dispose } = lazyCommandContext('u', 'ECHO', never, 30);
    vi.advanceTimersByTime(40);
    const signal = ctx.signal; // asked after the timeout passed: aborts on the next timer turn
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(0);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    dispose();
  });
});

describe('createStreamWriter', () => {
  it('waits for drain when write() returns false and keeps the order', { timeout: 5000 }, async () => {
    const seen: number[] = [];
    let release: (() => void) | undefined;
    const sink = new Writable({
      objectMode: true, highWaterMark: 1,
      write(chunk: number, _enc, done) {
        seen.push(chunk);
        if (chunk === 1) release = done; // hold the first write: the buffer fills up
        else done();
      },
    });
    const writer = createStreamWriter<number>(sink);
    const first = writer.write(1);
    const second = writer.write(2);
    await new Promise((r) => setImmediate(r));
    expect(writer.blocked).toBe(true);
    expect(seen).toEqual([1]);
    release!();
    await first;
    await second;
    await writer.flushed();
    expect(seen).toEqual([1, 2]);
    expect(writer.blocked).toBe(false);
  });

  it('rejects writes once the stream ended', async () => {
    const sink = new Writable({ objectMode: true, write: (_c, _e, done) => done() });
    sink.end();
    await expect(createStreamWriter(sink).write(1)).rejects.toThrow(/closed/);
  });
});

describe('Lifecycle and messages', () => {
  it('logs legal transitions and refuses illegal ones by name', () => {
    const lines: string[] = [];
    const l = new Lifecycle((t) => lines.push(t));
    l.to('READY', 'welcomed');
    expect(() => l.to('CLOSED', 'skip the drain')).toThrow(/READY cannot become CLOSED/);
    l.to('DRAINING', 'drain');
    expect(lines).toEqual(['CONNECTING -> READY: welcomed', 'READY -> DRAINING: drain']);
  });

  it('parses event payloads, keeps the raw text, and caps payload size', () => {
    expect(toEventMessage({ event: 'E', payload: '{"n":1}', timestamp_ms: 5 })).toMatchObject({ event: 'E', payload: { n: 1 }, rawPayload: '{"n":1}', timestampMs: 5 });
    expect(toEventMessage({ payload: 'not json' }).payload).toBeNull();
    expect(() => toJsonText('x'.repeat(5 * 1024 * 1024), 'the big one')).toThrow(/the big one is \d+ bytes/);
  });

  it('sets the gRPC deadline past the command timeout (longer default for ADMIN_*)', () => {
    expect(commandDeadlineMs({ command: 'ECHO', timeout_ms: 1000 })).toBeGreaterThan(1000);
    expect(commandDeadlineMs({ command: 'ECHO' })).toBeGreaterThan(30_000);
    expect(commandDeadlineMs({ command: 'ADMIN_LIST_WORKERS' })).toBeGreaterThan(600_000);
  });
});
