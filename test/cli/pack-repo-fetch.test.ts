// The built CLI end to end: pack ./connectors, repo serve on port 0, fetch utils/echo; SIGTERM ends serve with 0.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.js';
import { createCleanup, tempDir } from '../helpers/repo.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/worker-admin.js');
const cleanup = createCleanup();
// execa would merge in the runner's own environment: each run gets the one the test builds
const hermetic = { env: testEnv(), extendEnv: false } as const;
afterEach(() => cleanup.run());

// Starts `repo serve` on port 0 and resolves with its URL once it prints the listening line.
async function serve(dir: string): Promise<{ url: string; child: ResultPromise }> {
  const child = execa('node', [bin, 'repo', 'serve', dir, '--listen', '127.0.0.1:0'], { ...hermetic, reject: false });
  cleanup.add(() => child.kill('SIGKILL'));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /repository listening on (http:\/\/\S+\/)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void child.then((r) => reject(new Error(`repo serve exited: ${String(r.stderr)}`)));
  });
  return { url, child };
}

describe('worker-admin pack / repo serve / fetch', () => {
  it('packs connectors/, serves them and fetches utils/echo@^1', async () => {
    const out = tempDir(cleanup);
    const pack = await execa('node', [bin, 'pack', join(root, 'connectors'), '--out', out], hermetic);
    expect(pack.stdout).toMatch(/utils\/echo@1\.0 [0-9a-f]{64}/);
    const zip = await readFile(join(out, 'utils/echo/1_1_worker.zip'));
    const { url, child } = await serve(out);

    const state = tempDir(cleanup);
    const fetched = await execa('node', [bin, 'fetch', 'utils/echo@^1', '--repository', url, '--out', state], hermetic);
    const json = JSON.parse(fetched.stdout) as Record<string, unknown> & { keys: Array<Record<string, unknown>> };
    expect(json).toMatchObject({ product: 'utils/echo', version: '1.1', sha256: createHash('sha256').update(zip).digest('hex'), path: join(state, 'workers/utils/echo/1.1'), commands: ['ECHO', 'SLOW'] });
    expect(json.keys.find((k) => k['name'] === 'greeting')).toMatchObject({ type: 'string', mandatory: true, layer: 'product' });
    expect(json.keys.find((k) => k['name'] === 'api_key')).toMatchObject({ secret: true, default: '[redacted]' });
    expect(json.keys.filter((k) => k['name'] === 'log_level')).toEqual([expect.objectContaining({ layer: 'minor', default: 'info' })]);
    expect(fetched.stderr).toBe('');
    await readFile(join(state, 'workers/utils/echo/1.1/worker.mjs'));

    const missing = await execa('node', [bin, 'fetch', 'utils/echo@^7', '--repository', url, '--out', state], { ...hermetic, reject: false });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/VERSION_NOT_FOUND: utils\/echo: no version matches "\^7"/);

    child.kill('SIGTERM');
    expect((await child).exitCode).toBe(0);
  });
});
