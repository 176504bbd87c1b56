// The replay window's compact store: answers come back byte for byte across ring growth, chunk turnover and expiry.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Reply, Status } from '../../src/proto/types.js';
import { commandFingerprint, UuidCache } from '../../src/router/uuid-cache.js';

const STATUSES: Status[] = ['SUCCESS', 'FAIL', 'TIMEOUT', 'NO_WORKER', 'INVALID'];

function replyFor(uuid: string, i: number): Reply {
  const status = STATUSES[i % STATUSES.length] as Status;
  return {
    uuid, status,
    payload: status === 'SUCCESS' ? JSON.stringify({ i, text: `é ✓ 🚀 ${'x'.repeat(i % 50)}` }) : '',
    error: status === 'SUCCESS' ? '' : `CODE: reply ${i} ‽`,
    worker: `echo-${i % 3}@1.${i % 2}`,
  };
}

function answer(cache: UuidCache, uuid: string, fingerprint: string, reply: Reply): void {
  cache.begin(uuid, fingerprint, { reply: Promise.resolve(reply) });
  cache.finish(uuid, reply);
}

async function replayed(cache: UuidCache, uuid: string, fingerprint: string): Promise<Reply | string> {
  const seen = cache.lookup(uuid, fingerprint);
  return seen.kind === 'replay' ? seen.reply : seen.kind;
}

describe('UuidCache answers in compact form', () => {
  it('replays every answer as given (statuses, unicode, errors, workers) past several ring growths and chunks', async () => {
    const cache = new UuidCache({ windowMs: 60_000, maxEntries: 100_000, maxBytes: 1e9 }, () => 0);
    const uuids = Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? randomUUID() : `client-${i}`));
    uuids.forEach((u, i) => answer(cache, u, commandFingerprint('ECHO', `{"i":${i}}`), replyFor(u, i)));
    expect(cache.size).toEqual({ pending: 0, answered: 5000 });
    for (const [i, u] of uuids.entries()) {
      expect(await replayed(cache, u, commandFingerprint('ECHO', `{"i":${i}}`))).toEqual(replyFor(u, i));
      expect(await replayed(cache, u, commandFingerprint('ECHO', `{"i":${i + 1}}`))).toBe('conflict');
    }
  });

  it('keeps a reply bigger than a chunk, and long payloads fingerprinted by digest', async () => {
    const cache = new UuidCache({ windowMs: 60_000, maxEntries: 100, maxBytes: 1e9 }, () => 0);
    const big = JSON.stringify({ blob: 'ü'.repeat(300_000) });
    const fp = commandFingerprint('BIG', big);
    const reply: Reply = { uuid: 'big', status: 'SUCCESS', payload: big, error: '', worker: 'w@1.0' };
    answer(cache, 'small-before', 'fp', replyFor('small-before', 0));
    answer(cache, 'big', fp, reply);
    answer(cache, 'small-after', 'fp', replyFor('small-after', 0));
    expect(await replayed(cache, 'big', fp)).toEqual(reply);
    expect(await replayed(cache, 'big', commandFingerprint('BIG', `${big} `))).toBe('conflict');
    expect(await replayed(cache, 'small-after', 'fp')).toEqual(replyFor('small-after', 0));
  });

  it('forgets from the front over the window, the entry limit and the byte limit, and keeps working after emptying', async () => {
    let now = 0;
    const cache = new UuidCache({ windowMs: 1000, maxEntries: 300, maxBytes: 1e9 }, () => now);
    for (let i = 0; i < 1000; i += 1) answer(cache, `u${i}`, 'fp', replyFor(`u${i}`, i));
    expect(cache.size.answered).toBe(300);
    expect(await replayed(cache, 'u699', 'fp')).toBe('new');
    expect(await replayed(cache, 'u700', 'fp')).toEqual(replyFor('u700', 700));
    now = 1000;
    cache.expire();
    expect(cache.size.answered).toBe(0);
    answer(cache, 'again', 'fp', replyFor('again', 1));
    expect(await replayed(cache, 'again', 'fp')).toEqual(replyFor('again', 1));

    const byBytes = new UuidCache({ windowMs: 1e9, maxEntries: 1e6, maxBytes: 100_000 }, () => 0);
    const payload = 'y'.repeat(1000);
    for (let i = 0; i < 500; i += 1) answer(byBytes, `b${i}`, 'fp', { uuid: `b${i}`, status: 'SUCCESS', payload, error: '', worker: 'w@1.0' });
    expect(byBytes.size.answered).toBeGreaterThan(50);
    expect(byBytes.size.answered).toBeLessThan(100);
    expect(await replayed(byBytes, 'b499', 'fp')).toMatchObject({ payload });
    expect(await replayed(byBytes, 'b0', 'fp')).toBe('new');
  });

  it('a uuid forgotten at the end of its window and answered again keeps its new answer when the old slot expires', async () => {
    let now = 0;
    const cache = new UuidCache({ windowMs: 1000, maxEntries: 100, maxBytes: 1e9 }, () => now);
    answer(cache, 'u', 'fp', replyFor('u', 0));
    now = 1000;
    expect(await replayed(cache, 'u', 'fp')).toBe('new');
    answer(cache, 'u', 'fp2', replyFor('u', 1));
    now = 1500;
    cache.expire(); // drops the old slot of 'u', not the key its new answer holds
    expect(await replayed(cache, 'u', 'fp2')).toEqual(replyFor('u', 1));
    expect(cache.size.answered).toBe(1);
  });
});
