// Bad packages thrown at a running admin: each refused with PACKAGE_REJECTED naming the rule, nothing of it left on disk,
// no process started, utils/echo still READY and serving.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZip, patchBytes, type TestZipFile } from '../helpers/repo.js';
import { SIMPLE_PIVOT, startAdversary, type Adversary } from './harness.js';

let adv: Adversary;
beforeAll(async () => {
  adv = await startAdversary();
});
afterAll(async () => {
  await adv?.close();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const WORKER: TestZipFile = { name: 'worker.mjs', data: 'process.exit(0);\n' };
let counter = 0;

/** Publishes `zip` as bad/pN 1.0, asks the admin to start it, and checks the refusal and that nothing changed. */
async function refused(zip: Buffer, part: RegExp, versions = '- "1.0"\n'): Promise<void> {
  const product = `p${++counter}`;
  await adv.publish('bad', product, { 'versions.yaml': versions, '1_configuration.yaml': SIMPLE_PIVOT, '1_0_worker.zip': zip });
  const before = await adv.snapshot();
  const from = adv.events.length;
  const reply = await adv.send('ADMIN_START_WORKER', { product: `bad/${product}`, version: '1.0' });
  expect(reply.status).toBe('FAIL');
  expect(reply.error).toMatch(/^PACKAGE_REJECTED: /);
  expect(reply.error).toMatch(part);
  await expect.poll(() => adv.events.slice(from).find((e) => e.event === 'PACKAGE_REJECTED')?.payload ?? '').toContain(`bad-${product}-1`);
  await adv.expectUnchanged(before);
}

describe('adversarial: packages', () => {
  const base = (): Promise<Buffer> => makeZip([WORKER, { name: 'zz/x', data: 'evil' }]);

  it('zip slip with a relative path (../x)', async () => {
    await refused(patchBytes(await base(), 'zz/x', '../x'), /entry "\.\.\/x": parent directory `\.\.`/);
  });

  it('zip slip with an absolute path (/abs)', async () => {
    await refused(patchBytes(await base(), 'zz/x', '/abs'), /entry "\/abs": absolute path/);
  });

  it('zip slip Windows-style (..\\x)', async () => {
    await refused(patchBytes(await base(), 'zz/x', '..\\x'), /backslash/);
  });

  it('a symlink entry', async () => {
    await refused(await makeZip([WORKER, { name: 'link', data: '/etc/passwd', mode: 0o120777 }]), /entry "link": symbolic link entries are not allowed/);
  });

  it('a device entry', async () => {
    await refused(await makeZip([WORKER, { name: 'dev', data: '', mode: 0o020644 }]), /entry "dev": character device/);
  });

  it('a zip bomb by ratio (4 MiB of zeros)', async () => {
    await refused(await makeZip([WORKER, { name: 'bomb.bin', data: Buffer.alloc(4 * 1024 * 1024) }]), /entry "bomb\.bin": compression ratio over 1000:1/);
  });

  it('a zip bomb by total size (9 MiB that does not compress, limit 8 MiB)', async () => {
    await refused(await makeZip([WORKER, { name: 'big.bin', data: randomBytes(9 * 1024 * 1024) }]), /unpackedBytes/);
  });

  it('too many entries (60, limit 50)', async () => {
    const files = Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }));
    await refused(await makeZip([WORKER, ...files]), /61 entries, over the entries limit of 50/);
  });

  it('a truncated zip', async () => {
    const zip = await makeZip([WORKER, { name: 'lib/a.txt', data: 'hello' }]);
    await refused(zip.subarray(0, zip.length - 30), /not a valid zip archive/);
  });

  it('a checksum mismatch with versions.yaml', async () => {
    const zip = await makeZip([WORKER]);
    await refused(zip, /sha256 is [0-9a-f]{64}, versions\.yaml lists 0{64}/, `- version: "1.0"\n  sha256: "${'0'.repeat(64)}"\n`);
  });

  it('a cached package tampered on disk is not run: refused when the repository copy no longer matches either', async () => {
    const zip = await makeZip([WORKER]);
    const product = `p${++counter}`;
    await adv.publish('bad', product, { 'versions.yaml': `- version: "1.0"\n  sha256: ${sha(zip)}\n`, '1_configuration.yaml': SIMPLE_PIVOT, '1_0_worker.zip': zip });
    const fetched = await adv.send('ADMIN_GET_WORKER', { product: `bad/${product}`, version: '1.0' });
    expect(fetched.status).toBe('SUCCESS');
    const cached = join(adv.stateDir, 'packages/bad', product, '1_0_worker.zip');
    // The cached zip is tampered: the admin notices (sha256) and fetches the published one again.
    writeFileSync(cached, Buffer.concat([zip, Buffer.from('tampered')]));
    expect((await adv.send('ADMIN_GET_WORKER', { product: `bad/${product}`, version: '1.0' })).status).toBe('SUCCESS');
    expect(sha(readFileSync(cached))).toBe(sha(zip));
    // Tampered in the cache and in the repository: nothing is run.
    writeFileSync(cached, Buffer.concat([zip, Buffer.from('tampered')]));
    await adv.publish('bad', product, { '1_0_worker.zip': Buffer.concat([zip, Buffer.from('tampered')]) });
    const before = await adv.snapshot();
    const reply = await adv.send('ADMIN_START_WORKER', { product: `bad/${product}`, version: '1.0' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^PACKAGE_REJECTED: .*sha256 is [0-9a-f]{64}, versions\.yaml lists [0-9a-f]{64}/);
    // The refused download left nothing; the tampered cached zip is checked again (and refused) on every use.
    await adv.expectUnchanged(before);
  });
});
