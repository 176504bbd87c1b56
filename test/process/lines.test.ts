import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLines } from '../../src/process/lines.js';

describe('readLines', () => {
  it('joins lines split across chunks, multi-byte characters included, and flushes the last partial line', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = readLines(stream, (line) => lines.push(line));
    const euro = Buffer.from('€');
    stream.write('hel');
    stream.write(Buffer.concat([Buffer.from('lo '), euro.subarray(0, 1)]));
    stream.write(Buffer.concat([euro.subarray(1), Buffer.from('\r\nsecond\n\nlast')]));
    stream.end();
    await done;
    expect(lines).toEqual(['hello €', 'second', '', 'last']);
  });

  it('cuts a line without newline at the cap so memory stays bounded', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = readLines(stream, (line) => lines.push(line), { maxLineBytes: 10 });
    stream.end('a'.repeat(25));
    await done;
    expect(lines).toEqual(['a'.repeat(10), 'a'.repeat(10), 'a'.repeat(5)]);
  });

  it('cuts on a UTF-8 character boundary, never inside a character', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = readLines(stream, (line) => lines.push(line), { maxLineBytes: 8 });
    stream.end(`abcdefg${'€'.repeat(3)}\n`); // 7 + 9 bytes: the first € does not fit in 8
    await done;
    expect(lines).toEqual(['abcdefg', '€€', '€']);
  });

  it('skips a line the gate refuses without decoding it; a cut line asks once per piece', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    let asked = 0;
    const done = readLines(stream, (line) => lines.push(line), { maxLineBytes: 4, admit: () => ++asked % 2 === 1 });
    stream.write('one\ntwo\nthree\n'); // one: yes, two: no, thr|ee: yes then no
    stream.end('four\nfive\n');
    await done;
    expect(lines).toEqual(['one', 'thre', 'four']);
  });

  it('keeps reading when the line handler throws', async () => {
    const stream = new PassThrough();
    let seen = 0;
    const done = readLines(stream, () => {
      seen += 1;
      throw new Error('sink failed');
    });
    stream.end('1\n2\n3\n');
    await done;
    expect(seen).toBe(3);
  });
});
