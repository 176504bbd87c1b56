// versions.yaml parsing (both forms, quoted strings only) and semver resolution.
import { describe, expect, it } from 'vitest';
import { parseVersionsYaml, resolveVersion, withinMajor } from '../../src/repository/versions.js';

const file = 'versions.yaml';

describe('parseVersionsYaml', () => {
  it('accepts the plain list and the checksum form together', () => {
    const sha = 'a'.repeat(64);
    const got = parseVersionsYaml(`- "1.0"\n- version: "1.1"\n  sha256: ${sha.toUpperCase()}\n`, { file });
    expect(got).toEqual([{ version: '1.0' }, { version: '1.1', sha256: sha }]);
  });

  it('refuses an unquoted number, naming its line', () => {
    expect(() => parseVersionsYaml('- "1.0"\n- 1.10\n', { file })).toThrow(/versions\.yaml line 2: version 1\.1 is an unquoted number/);
    expect(() => parseVersionsYaml('- "1.0"\n- version: 1.2\n', { file })).toThrow(/line 2.*unquoted number/);
  });

  it('refuses versions that are not major.minor, a bad sha256 and duplicates', () => {
    expect(() => parseVersionsYaml('- "1.0.0"\n', { file })).toThrow(/line 1: version "1\.0\.0" is invalid/);
    expect(() => parseVersionsYaml('- "01.0"\n', { file })).toThrow(/VERSION|invalid/);
    expect(() => parseVersionsYaml('- version: "1.0"\n  sha256: xyz\n', { file })).toThrow(/sha256 of version "1\.0"/);
    expect(() => parseVersionsYaml('- "1.0"\n- "1.0"\n', { file })).toThrow(/listed twice/);
    expect(() => parseVersionsYaml('versions: []\n', { file })).toThrow(/expected a list/);
  });

  it('reads an empty file as no versions', () => {
    expect(parseVersionsYaml('', { file })).toEqual([]);
  });
});

describe('resolveVersion', () => {
  const shuffled = ['1.2', '2.0', '0.9', '1.10', '1.9', '0.10'];

  it('picks the highest in range from a shuffled list, never the last line', () => {
    expect(resolveVersion(shuffled, 'latest')).toBe('2.0');
    expect(resolveVersion(shuffled, '*')).toBe('2.0');
    expect(resolveVersion(shuffled, '^1')).toBe('1.10');
    expect(resolveVersion(shuffled, '~1.9')).toBe('1.9');
    expect(resolveVersion(shuffled, '1.x')).toBe('1.10');
    expect(resolveVersion(shuffled, '1.2')).toBe('1.2');
  });

  it('treats "within the running major" as >=M.0.0 <M+1.0.0, 0.x included', () => {
    expect(withinMajor(0)).toBe('>=0.0.0 <1.0.0');
    expect(resolveVersion(shuffled, withinMajor(0))).toBe('0.10');
    expect(resolveVersion(shuffled, withinMajor(1))).toBe('1.10');
  });

  it('names the product and the range when nothing matches', () => {
    expect(() => resolveVersion(shuffled, '^3', 'utils/echo')).toThrow(/utils\/echo: no version matches "\^3" \(listed: /);
    expect(() => resolveVersion([], 'latest', 'utils/echo')).toThrow(/utils\/echo: no version matches "latest" \(no version is listed\)/);
    expect(() => resolveVersion(shuffled, 'not a range', 'utils/echo')).toThrow(/not a semver range/);
  });
});
