// The body of a fleet batch message: items and payloads back as they were sent, through the UTF-8 bytes NATS carries.
import { describe, expect, it } from 'vitest';
import { batchEntry, decodeBatch, encodeBatch, entryBound } from '../../src/fleet/transport/batch-codec.js';

/** What the receiving host gets: the body encoded to bytes and decoded back, as over NATS. */
const overTheWire = (text: string): string => new TextDecoder().decode(new TextEncoder().encode(text));

describe('fleet batch bodies', () => {
  it('carries each payload as sent, whatever its characters, next to its fields', () => {
    const payloads = ['{"text":"hello"}', '', '{"é":"日本語","emoji":"😀"}', '{"nl":"a\\nb"}\n', '"\ud800 lone"'];
    const entries = payloads.map((p, i) => batchEntry({ id: `id${i}`, command: { command: 'ECHO' } }, p, `id${i}`));
    const body = overTheWire(encodeBatch(JSON.stringify({ v: 1, from: { host: 'a', incarnation: '1' } }), entries));
    const batch = decodeBatch(body);
    expect(batch?.head).toMatchObject({ v: 1, from: { host: 'a', incarnation: '1' } });
    expect(batch?.items.map((i) => i.item['id'])).toEqual(['id0', 'id1', 'id2', 'id3', 'id4']);
    // a lone surrogate cannot travel as UTF-8: it arrives as U+FFFD, and the payloads after it are still whole
    expect(batch?.items.map((i) => i.payload)).toEqual([...payloads.slice(0, 4), '"\ufffd lone"']);
    expect(entries[0]?.id).toBe('id0');
  });

  it('bounds the bytes of an entry from above', () => {
    for (const payload of ['abc', '日本語😀', 'x'.repeat(20_000), '€'.repeat(20_000)]) {
      const entry = batchEntry({ id: 'x', reply: { error: 'ümlaut' } }, payload);
      expect(entryBound(entry)).toBeGreaterThanOrEqual(Buffer.byteLength(entry.json) + 1 + Buffer.byteLength(payload));
    }
  });

  it('refuses a body that is not a batch, whole', () => {
    const good = encodeBatch('{"v":1}', [batchEntry({ id: 'a' }, 'xy'), batchEntry({ id: 'b' }, 'z')]);
    expect(decodeBatch(good)?.items.map((i) => i.payload)).toEqual(['xy', 'z']);
    expect(decodeBatch(good.replace('\n', ' '))).toBeUndefined(); // no newline
    expect(decodeBatch(`${good}extra`)).toBeUndefined(); // bytes no item claims
    expect(decodeBatch(good.slice(0, -1))).toBeUndefined(); // a payload cut short
    expect(decodeBatch('{"v":1,"items":[{"id":"a","n":-1}]}\n')).toBeUndefined();
    expect(decodeBatch('{"v":1,"items":[{"id":"a"}]}\n')).toBeUndefined();
    expect(decodeBatch('{"v":1,"items":{}}\n')).toBeUndefined();
    expect(decodeBatch('[1]\n')).toBeUndefined();
    expect(decodeBatch('{not json\n')).toBeUndefined();
  });
});
