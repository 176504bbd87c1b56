// The stdin start line: one JSON line, every field checked, errors that name what is wrong.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isWorkerAdminError } from '../../src/common/errors.js';
import { parseStartLine, readStartLine } from '../../src/sdk/start-line.js';

const good = { identifier: 'utils-echo-1', target: 'unix:/tmp/wa/router.sock', token: 't'.repeat(48), type: 'utils', product: 'echo', version: '1.2', config: { greeting: 'hi' } };

describe('readStartLine', () => {
  it('reads one line from a stream split in chunks, then EOF', async () => {
    const text = `${JSON.stringify(good)}\n`;
    const line = await readStartLine(Readable.from([text.slice(0, 10), text.slice(10)]));
    expect(line).toEqual(good);
  });

  it('names every missing field', () => {
    const { token: _t, version: _v, ...rest } = good;
    expect(() => parseStartLine(JSON.stringify(rest))).toThrow(/missing token, version/);
  });

  it('refuses empty stdin, two lines, non-JSON and bad names', () => {
    expect(() => parseStartLine('')).toThrow(/stdin is empty/);
    expect(() => parseStartLine(`${JSON.stringify(good)}\n{}\n`)).toThrow(/more than one line/);
    expect(() => parseStartLine('{nope')).toThrow(/not JSON/);
    expect(() => parseStartLine(JSON.stringify({ ...good, version: '1.2.3' }))).toThrow(/version "1.2.3"/);
    expect(() => parseStartLine(JSON.stringify({ ...good, product: '../x' }))).toThrow(/product "..\/x"/);
    expect(() => parseStartLine(JSON.stringify({ ...good, target: 'nowhere' }))).toThrow(/target/);
    expect(() => parseStartLine(JSON.stringify({ ...good, config: [] }))).toThrow(/config must be an object/);
    expect(() => parseStartLine(JSON.stringify({ ...good, tls: { ca: 1 } }))).toThrow(/tls.ca/);
    try {
      parseStartLine('[]');
    } catch (error) {
      expect(isWorkerAdminError(error, 'CONFIG_INVALID')).toBe(true);
    }
  });

  it('defaults config to {} and keeps TLS PEM text', () => {
    const { config: _c, ...rest } = good;
    const line = parseStartLine(JSON.stringify({ ...rest, tls: { ca: 'PEM' } }));
    expect(line.config).toEqual({});
    expect(line.tls).toEqual({ ca: 'PEM' });
  });
});
