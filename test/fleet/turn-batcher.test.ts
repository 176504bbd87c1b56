// Gathering what one turn of the event loop sends to a destination: one message per destination, after the turn's I/O
// callbacks, never a timer; split before a batch goes over its byte limit.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { batchEntry, entryBound, type BatchEntry } from '../../src/fleet/transport/batch-codec.js';
import { Turn, TurnBatcher } from '../../src/fleet/transport/turn-batcher.js';

describe('turn batcher', () => {
  it('sends what one turn gathered per key once, all batchers of a turn in one callback', async () => {
    const sent: Array<[string, string[]]> = [];
    const turn = new Turn();
    const record = (name: string) => (to: string, entries: BatchEntry[]) => sent.push([`${name}:${to}`, entries.map((e) => e.payload)]);
    const commands = new TurnBatcher<string>(turn, () => 1 << 20, record('commands'));
    const events = new TurnBatcher<string>(turn, () => 1 << 20, record('events'));
    commands.add('b', () => 'host-b', batchEntry({ id: '1' }, 'one'));
    events.add('t', () => 'topic', batchEntry({ e: 1 }, 'ev'));
    commands.add('c', () => 'host-c', batchEntry({ id: '2' }, 'two'));
    const dest = commands.add('b', () => 'never made: the batch exists', batchEntry({ id: '3' }, 'three'));
    expect(dest).toBe('host-b');
    expect(sent).toEqual([]); // nothing within the turn
    await nextTurn();
    expect(sent).toEqual([['commands:host-b', ['one', 'three']], ['commands:host-c', ['two']], ['events:topic', ['ev']]]);
    commands.add('b', () => 'host-b', batchEntry({ id: '4' }, 'four'));
    await nextTurn();
    expect(sent.at(-1)).toEqual(['commands:host-b', ['four']]); // alone: at once, in the next turn
  });

  it('sends a batch before an entry would take it past the limit', async () => {
    const sent: string[][] = [];
    const entry = (payload: string): BatchEntry => batchEntry({ id: payload }, payload);
    const limit = entryBound(entry('aaaa')) * 2;
    const batcher = new TurnBatcher<null>(new Turn(), () => limit, (_to, entries) => sent.push(entries.map((e) => e.payload)));
    for (const p of ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee']) batcher.add('k', () => null, entry(p));
    expect(sent).toEqual([['aaaa', 'bbbb'], ['cccc', 'dddd']]);
    batcher.flush();
    expect(sent.at(-1)).toEqual(['eeee']);
    await nextTurn();
    expect(sent).toHaveLength(3); // the flush left nothing for the turn's callback
  });
});
