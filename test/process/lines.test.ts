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
    const done = readLines(stream, (line) => lines.push(line), 10);
    stream.end('a'.repeat(25));
    await done;
    expect(lines).toEqual(['a'.repeat(10), 'a'.repeat(10), 'a'.repeat(5)]);
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
