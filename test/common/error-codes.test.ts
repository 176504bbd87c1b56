// The one list of codes (src/common/errors.ts): every code emitted somewhere in src/, every code described in
// docs/errors.md and nothing described there that is not in the list; the helpers that read and write `CODE: text`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, WorkerAdminError, coded, errorCodeOf, explanationOf, replyError } from '../../src/common/errors.js';
import { ROOT } from '../helpers/stack.js';

/** The text of every .ts file under src/ but the list itself (and the generated proto text). */
function sources(): string {
  const skip = new Set([join('common', 'errors.ts'), join('proto', 'embedded.ts')]);
  const dir = join(ROOT, 'src');
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((path) => !skip.has(path.slice(dir.length + 1)))
    .map((path) => readFileSync(path, 'utf8'))
    .join('\n');
}

describe('error codes', () => {
  it('every code in the list is emitted somewhere in src/ (as a literal or a `CODE:` prefix)', () => {
    const text = sources();
    const dead = ERROR_CODES.filter((code) => !text.includes(`'${code}'`) && !text.includes(`${code}: `));
    expect(dead).toEqual([]);
  });

  it('docs/errors.md describes exactly the codes of the list, each in one table row', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('reads and writes `CODE: explanation`', () => {
    expect(coded('QUEUE_FULL', '10 commands wait')).toBe('QUEUE_FULL: 10 commands wait');
    expect(errorCodeOf('COMMANDS_MISSING: SLOW')).toBe('COMMANDS_MISSING');
    expect(errorCodeOf('BAD_TOKEN')).toBe('BAD_TOKEN');
    expect(errorCodeOf('it broke: badly')).toBeUndefined();
    expect(errorCodeOf('NOT_A_CODE: x')).toBeUndefined();
    expect(explanationOf('WORKER_LOST: w@1.0 went away')).toBe('w@1.0 went away');
    expect(explanationOf('a worker wrote this')).toBe('a worker wrote this');
    expect(replyError(new WorkerAdminError('PRODUCT_UNKNOWN', 'product a/b is unknown'))).toBe('PRODUCT_UNKNOWN: product a/b is unknown');
    expect(replyError(new Error('boom'))).toBe('INTERNAL: boom');
  });
});
