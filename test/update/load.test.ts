// The rolling-update load test: a client sends ECHO/SLOW continuously through the router while three rolling updates
// and one failed update run in a row. Every command gets exactly one reply, every reply is SUCCESS, and Reply.worker
// shows the old version before each update and the new one after it, with no gap (no NO_WORKER) in between; once the
// new version is READY, both serve while it warms up.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startUpdateStack, versionOf, type UpdateStack } from './harness.js';

const ID = 'tests-rolling-1';
const LOOPS = 8;
const PERIOD_MS = 10; // per loop: at most 8 loops / 10 ms = 800 commands/s
const ORDER = ['1.0', '1.1', '1.2', '1.3', '1.4'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sent { uuid: string; command: string; payload: string; sentAt: number; receivedAt: number; status: string; replyUuid: string; replyPayload: string; worker: string }
interface Window { from: string; to: string; start: number; end: number; status: string; error: string }

describe('rolling updates under load', () => {
  let t: UpdateStack | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it('3 updates and 1 failed update in a row: one SUCCESS reply per command, old version before, new after', async () => {
    const stack = (t = await startUpdateStack({ timeouts: { start: '5s' } }));
    expect((await stack.send('ADMIN_START_WORKER', { product: 'tests/rolling', version: '1.0' })).status).toBe('SUCCESS');

    const sent: Sent[] = [];
    let phase: 'RUNNING' | 'STOPPING' = 'RUNNING';
    const loop = async (k: number): Promise<void> => {
      for (let n = 0; phase === 'RUNNING'; n++) {
        const next = performance.now() + PERIOD_MS;
        const slow = n % 5 === 4;
        const command = slow ? 'SLOW' : 'ECHO';
        const payload = JSON.stringify(slow ? { ms: 30 } : { loop: k, n });
        const uuid = randomUUID();
        const sentAt = performance.now();
        const reply = await stack.rpc.sendCommand({ uuid, command, payload, timeout_ms: 30_000 });
        sent.push({ uuid, command, payload, sentAt, receivedAt: performance.now(), status: reply.status, replyUuid: reply.uuid, replyPayload: reply.payload, worker: reply.worker });
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, k) => loop(k));

    // Replies to commands sent after `since`: each phase waits for some instead of a fixed time (a busy machine is slower).
    const repliesSince = async (since: number, count = 20): Promise<void> => {
      for (const deadline = performance.now() + 30_000; sent.filter((s) => s.sentAt > since).length < count;) {
        if (performance.now() > deadline) throw new Error(`fewer than ${count} replies within 30 s`);
        await sleep(10);
      }
    };
    const windows: Window[] = [];
    const update = async (to: string, worker: 'good' | 'bad'): Promise<void> => {
      await stack.publish(to, { worker });
      const from = (await stack.rpc.listWorkers()).workers.find((w) => w.identifier === ID)!.version;
      const start = performance.now();
      const reply = await stack.send('ADMIN_UPDATE', { product: 'tests/rolling' });
      const end = performance.now();
      windows.push({ from, to, start, end, status: reply.status, error: reply.error });
      await repliesSince(end);
    };
    let pidBeforeFailure = 0;
    try {
      await repliesSince(-Infinity);
      await update('1.1', 'good');
      await update('1.2', 'good');
      await update('1.3', 'good');
      pidBeforeFailure = ((await stack.send('ADMIN_LIST_WORKERS')).data as { workers: Array<{ pid: number }> }).workers[0]!.pid;
      await update('1.4', 'bad');
    } finally {
      phase = 'STOPPING';
      await Promise.all(loops);
    }

    // The updates themselves: three done, the fourth refused with its reason, the old worker untouched.
    expect(windows.map((w) => [w.from, w.to, w.status])).toEqual([['1.0', '1.1', 'SUCCESS'], ['1.1', '1.2', 'SUCCESS'], ['1.2', '1.3', 'SUCCESS'], ['1.3', '1.4', 'FAIL']]);
    expect(windows[3]!.error).toMatch(/^COMMANDS_MISSING: SLOW/);
    expect(((await stack.send('ADMIN_LIST_WORKERS')).data as { workers: Array<Record<string, unknown>> }).workers)
      .toEqual([expect.objectContaining({ identifier: ID, version: '1.3', state: 'READY', pid: pidBeforeFailure })]);

    // Exactly one reply per command, each SUCCESS, each answering its own command.
    expect(new Set(sent.map((s) => s.uuid)).size).toBe(sent.length);
    const notOk = sent.filter((s) => s.status !== 'SUCCESS' || s.replyUuid !== s.uuid);
    expect(notOk.slice(0, 5)).toEqual([]);
    const wrongPayload = sent.filter((s) => (s.command === 'ECHO' ? s.replyPayload !== s.payload : s.replyPayload !== JSON.stringify({ slept: 30 })));
    expect(wrongPayload.slice(0, 5)).toEqual([]);
    expect(new Set(sent.map((s) => s.worker.split('@')[0]))).toEqual(new Set([ID]));

    // Old before, new after: no reply from a version before its update started or after it was replaced.
    for (const [i, w] of windows.entries()) {
      const during = sent.filter((s) => s.sentAt < w.end && s.receivedAt > w.start);
      expect(during.length, `commands in flight during ${w.from} → ${w.to}`).toBeGreaterThan(0);
      const before = sent.filter((s) => s.receivedAt < w.start);
      expect(before.filter((s) => ORDER.indexOf(versionOf(s)) > ORDER.indexOf(w.from)).slice(0, 5)).toEqual([]);
      const expected = w.status === 'SUCCESS' ? w.to : w.from;
      const nextStart = windows[i + 1]?.start ?? Infinity;
      const after = sent.filter((s) => s.sentAt > w.end && s.receivedAt < nextStart);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((s) => versionOf(s) !== expected).slice(0, 5)).toEqual([]);
    }
    expect(sent.filter((s) => versionOf(s) === '1.4')).toEqual([]);
    const seconds = (sent.at(-1)!.receivedAt - sent[0]!.sentAt) / 1000;
    process.stderr.write(`load test: ${sent.length} commands in ${seconds.toFixed(1)} s (${Math.round(sent.length / seconds)}/s), versions served: ${[...new Set(sent.map(versionOf))].join(', ')}\n`);
  }, 240_000); // four updates under load; on a 2-core machine busy with other work (load 25 seen) a minute is not enough

  it('once the new version is READY, the old one keeps serving beside it while the new one warms up, then drains', async () => {
    await t?.close();
    const stack = (t = await startUpdateStack({ timeouts: { start: '5s' } }));
    expect((await stack.send('ADMIN_START_WORKER', { product: 'tests/rolling', version: '1.0' })).status).toBe('SUCCESS');
    await stack.publish('1.1', { worker: 'good' });
    const replies: Array<{ sentAt: number; version: string; status: string }> = [];
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        const sentAt = performance.now();
        const reply = await stack.rpc.sendCommand({ uuid: randomUUID(), command: 'ECHO', payload: '{}', timeout_ms: 30_000 });
        replies.push({ sentAt, version: versionOf(reply), status: reply.status });
      }
    };
    // 16 commands always in flight: more than a fresh worker's slow start lets it hold, so the overlap lasts
    const loops = Array.from({ length: 16 }, loop);
    let readyAt = Infinity;
    let drainingAt = Infinity;
    try {
      const ready = stack.waitForEvent((e, p) => e === 'WORKER_READY' && p['version'] === '1.1', 60_000).then(() => (readyAt = performance.now()));
      const draining = stack.waitForEvent((e, p) => e === 'WORKER_DRAINING' && p['version'] === '1.0', 60_000).then(() => (drainingAt = performance.now()));
      expect((await stack.send('ADMIN_UPDATE', { product: 'tests/rolling' })).status).toBe('SUCCESS');
      await Promise.all([ready, draining]);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(replies.filter((r) => r.status !== 'SUCCESS')).toEqual([]);
    // sent after the new one was READY and before the old one's drain: both versions answered (the overlap)
    const overlap = replies.filter((r) => r.sentAt > readyAt && r.sentAt < drainingAt);
    expect(overlap.filter((r) => r.version === '1.0').length).toBeGreaterThanOrEqual(10);
    expect(overlap.filter((r) => r.version === '1.1').length).toBeGreaterThan(0);
    expect(replies.filter((r) => r.sentAt > drainingAt + 1000).every((r) => r.version === '1.1')).toBe(true);
  }, 120_000);
});
