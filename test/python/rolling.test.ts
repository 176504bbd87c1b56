// A rolling update of a Python connector under load: clients keep sending while 1.0 is replaced by 1.1. Every command
// gets exactly one reply, each SUCCESS and its own; replies come from 1.0 before the update and from 1.1 after it.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, SKIP_REASON, startPyStack, until, type PyStack } from './harness.js';

const ID = 'tests-pyecho-1';
const LOOPS = 6;

interface Sent { uuid: string; command: string; payload: string; sentAt: number; receivedAt: number; status: string; replyUuid: string; replyPayload: string; worker: string }

describe.skipIf(!PYTHON)(`rolling update of a Python connector${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, () => {
  let t: PyStack | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it('1.0 → 1.1 with commands flowing: one SUCCESS reply per command, none lost', async () => {
    const stack = (t = await startPyStack({ timeouts: { start: '20s' } }));
    expect((await stack.send('ADMIN_START_WORKER', { product: 'tests/pyecho', version: '1.0' })).status).toBe('SUCCESS');
    const sent: Sent[] = [];
    let running = true;
    const loop = async (k: number): Promise<void> => {
      for (let n = 0; running; n++) {
        const slow = n % 4 === 3;
        const command = slow ? 'PY_SLOW' : 'PY_ECHO';
        const payload = JSON.stringify(slow ? { ms: 40 } : { loop: k, n });
        const uuid = randomUUID();
        const sentAt = performance.now();
        const reply = await stack.rpc.sendCommand({ uuid, command, payload, timeout_ms: 30_000 });
        sent.push({ uuid, command, payload, sentAt, receivedAt: performance.now(), status: reply.status, replyUuid: reply.uuid, replyPayload: reply.payload, worker: reply.worker });
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, k) => loop(k));
    let start = 0;
    let end = 0;
    try {
      await until(async () => sent.length >= 50, '50 replies from 1.0');
      start = performance.now();
      const update = await stack.send('ADMIN_UPDATE', { product: 'tests/pyecho', version: '1.1' });
      end = performance.now();
      expect(update, update.error).toMatchObject({ status: 'SUCCESS', data: { from: '1.0', to: '1.1', instances: [ID] } });
      const after = sent.length;
      await until(async () => sent.slice(after).filter((s) => s.worker === `${ID}@1.1`).length >= 50, '50 replies from 1.1');
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(new Set(sent.map((s) => s.uuid)).size).toBe(sent.length);
    expect(sent.filter((s) => s.status !== 'SUCCESS' || s.replyUuid !== s.uuid).slice(0, 5)).toEqual([]);
    const wrong = sent.filter((s) => s.command === 'PY_ECHO' && s.replyPayload !== s.payload);
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(sent.filter((s) => s.command === 'PY_SLOW' && JSON.parse(s.replyPayload).slept !== 40)).toEqual([]);
    expect(sent.filter((s) => s.sentAt < end && s.receivedAt > start).length, 'commands in flight during the update').toBeGreaterThan(0);
    expect(sent.filter((s) => s.receivedAt < start && s.worker !== `${ID}@1.0`)).toEqual([]);
    expect(sent.filter((s) => s.sentAt > end && s.worker !== `${ID}@1.1`)).toEqual([]);
    process.stderr.write(`python rolling update: ${sent.length} commands, ${sent.filter((s) => s.sentAt < end && s.receivedAt > start).length} in flight during the update\n`);
  }, 90_000);
});
