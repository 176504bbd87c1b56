import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupUser } from '../../src/process/user.js';

const dir = mkdtempSync(join(tmpdir(), 'wa-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const passwd = join(dir, 'passwd');
writeFileSync(passwd, '# users\nroot:x:0:0:root:/root:/bin/bash\nworker:x:1001:1002::/home/worker:/bin/sh\nnohome:x:1003:1003:::/bin/sh\n');

describe('lookupUser (runAs)', () => {
  it('finds a user by name or by uid', () => {
    expect(lookupUser('worker', passwd)).toEqual({ name: 'worker', uid: 1001, gid: 1002, home: '/home/worker' });
    expect(lookupUser('1001', passwd)).toEqual({ name: 'worker', uid: 1001, gid: 1002, home: '/home/worker' });
    expect(lookupUser('nohome', passwd).home).toBe('/');
  });

  it('refuses an unknown user naming it', () => {
    expect(() => lookupUser('ghost', passwd)).toThrowError(/runAs "ghost": no such user in .*passwd/);
    expect(() => lookupUser('4242', passwd)).toThrowError(/runAs "4242"/);
  });

  it('reads the real /etc/passwd by default', () => {
    expect(lookupUser('0').uid).toBe(0);
  });
});
