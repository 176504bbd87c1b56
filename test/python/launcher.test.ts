// Packaging a worker.py: what the zip holds (deterministic, no bytecode caches), and its launcher: a python3 without
// grpcio hands over to the next candidate, a refused Hello exits 2, and a Python with no grpcio at all fails the
// start with WORKER_EXITED naming the module.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PACKAGE_LIMITS } from '../../src/packages/limits.js';
import { unpackZip } from '../../src/packages/unzip.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { PY_FIXTURES, PYTHON, SKIP_REASON, startPyStack } from './harness.js';

const temps: string[] = [];
const temp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A `python3` that cannot import grpc: the system one without its site packages (-S). */
function pythonWithoutGrpc(): string {
  const dir = temp('wa-nogrpc-');
  const path = join(dir, 'python3');
  writeFileSync(path, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
  chmodSync(path, 0o755);
  return path;
}

function zipEntries(zip: string): Promise<Array<{ name: string; mode: number }>> {
  return new Promise((resolve, reject) => {
    yauzl.open(zip, { lazyEntries: true }, (error, file) => {
      if (error || !file) return reject(error ?? new Error(`cannot open ${zip}`));
      const out: Array<{ name: string; mode: number }> = [];
      file.on('entry', (e: yauzl.Entry) => {
        out.push({ name: e.fileName, mode: (e.externalFileAttributes >>> 16) & 0o777 });
        file.readEntry();
      });
      file.on('end', () => resolve(out));
      file.on('error', reject);
      file.readEntry();
    });
  });
}

async function packPyecho(withCaches: boolean): Promise<{ out: string; sha256: string }> {
  const src = temp('wa-pysrc-');
  cpSync(PY_FIXTURES, src, { recursive: true });
  if (withCaches) {
    mkdirSync(join(src, 'tests/pyecho/1/0/worker/__pycache__'));
    writeFileSync(join(src, 'tests/pyecho/1/0/worker/__pycache__/worker.cpython-311.pyc'), 'bytecode');
  }
  const out = temp('wa-pyout-');
  const result = await packRepository({ src, out });
  return { out, sha256: result.versions.find((v) => v.version === '1.0')!.sha256 };
}

describe('pack with a worker.py entry', () => {
  it('vendors the SDK and its message types, adds an executable launcher, and gives the same bytes every time', async () => {
    const a = await packPyecho(false);
    const b = await packPyecho(true);
    expect(b.sha256).toBe(a.sha256);
    const entries = await zipEntries(join(a.out, 'tests/pyecho/1_0_worker.zip'));
    const names = entries.map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['worker', 'worker.py', 'worker_admin/__init__.py', 'worker_admin/session.py', 'worker_admin/router.desc']));
    expect(names.filter((n) => n.includes('__pycache__') || n.endsWith('.pyc'))).toEqual([]);
    expect(entries.find((e) => e.name === 'worker')!.mode).toBe(0o755);
    expect(entries.find((e) => e.name === 'worker.py')!.mode).toBe(0o644);
  });

  it('refuses a worker.py folder that already has a `worker` file', async () => {
    const src = temp('wa-pysrc-');
    cpSync(PY_FIXTURES, src, { recursive: true });
    writeFileSync(join(src, 'tests/pyecho/1/0/worker/worker'), '#!/bin/sh\n', { mode: 0o755 });
    const out = temp('wa-pyout-');
    await expect(packRepository({ src, out })).rejects.toThrow(/must not hold `worker` or worker_admin/);
  });
});

describe.skipIf(!PYTHON)(`the Python launcher${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, () => {
  let router: TestRouter | undefined;
  afterAll(async () => {
    await router?.close();
  });

  /**
   * The packed pyecho, unpacked and its launcher run from another folder with `path` as PATH, the start line naming a
   * token the router never expected: a run that reaches the router ends with a refused Hello (exit 2).
   */
  async function runRefused(identifier: string, path: string, args: (address: string) => string[] = () => []): Promise<{ dir: string; code: number | null; stderr: string }> {
    router ??= await startTestRouter();
    const { out } = await packPyecho(false);
    const dir = join(temp('wa-pyrun-'), 'pkg');
    await unpackZip(join(out, 'tests/pyecho/1_0_worker.zip'), dir, DEFAULT_PACKAGE_LIMITS);
    const child = spawn(join(dir, 'worker'), args(router.address), { cwd: tmpdir(), env: { PATH: path, HOME: tmpdir() }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(`${JSON.stringify({ identifier, target: router.address, token: 't'.repeat(40), type: 'tests', product: 'pyecho', version: '1.0', config: {} })}\n`);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    return { dir, code, stderr };
  }

  it('hands over from a python3 without grpcio to the next one; a refused Hello prints the reason and exits 2', async () => {
    const fake = pythonWithoutGrpc();
    const { dir, code, stderr } = await runRefused('py-refused', `${join(fake, '..')}:/usr/bin:/bin`, (address) => ['--identifier', 'py-refused', '--target', address]);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/BAD_TOKEN|UNAUTHENTICATED/);
    expect(stderr).toContain('exiting with code 2');
    expect(readFileSync(join(dir, 'worker.py'), 'utf8')).toContain('start_worker');
  }, 30_000);

  it('runs from another folder with nothing but python3 on PATH (no dirname or other tools of its own)', async () => {
    const bin = temp('wa-pybin-');
    symlinkSync(PYTHON as string, join(bin, 'python3'));
    const { code, stderr } = await runRefused('py-bare-path', bin);
    // worker.py ran (found in the launcher's own folder) and reached the router, which refused the unknown token
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/BAD_TOKEN|UNAUTHENTICATED/);
  }, 30_000);

  it('a connector whose python: has no grpcio fails its start with WORKER_EXITED naming the module', async () => {
    const python = pythonWithoutGrpc();
    const t = await startPyStack({ connectors: [{ type: 'tests', product: 'pyecho', python }] });
    try {
      const reply = await t.send('ADMIN_START_WORKER', { product: 'tests/pyecho', version: '1.0' });
      expect(reply.status).toBe('FAIL');
      expect(reply.error).toMatch(/^WORKER_EXITED: the worker exited with code 3 before it was READY \(stderr: worker-admin: cannot start: .* has no module 'grpc'.*python3-grpcio/);
    } finally {
      await t.close();
    }
  }, 30_000);
});
