// `worker-admin init` as a person runs it: one connector per language, registered in the admin config, then packed,
// started and sent its command; a taken product or a bad name writes nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { loadAdminConfig } from '../../src/config/admin-config.js';
import { connectRouter } from '../../src/sdk/client.js';
import { startStack, type RunningStack } from '../../src/up/stack.js';
import { ROOT } from '../helpers/stack.js';
import { PYTHON, SKIP_REASON } from '../python/harness.js';

const BIN = join(ROOT, 'bin/worker-admin.js');
const dirs: string[] = [];
let stack: RunningStack | undefined;
afterAll(async () => {
  await stack?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-init-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'admin.yaml'), `# test project\nstateDir: state\nrouter: { address: "unix:state/router.sock" }\nops: { listen: "127.0.0.1:0" }\ntimeouts: { start: 20s, drain: 5s, kill: 2s }\n`);
  return dir;
}

function init(dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'init', ...args, '--dir', join(dir, 'connectors'), '--config', join(dir, 'admin.yaml')], {
    cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      out.push(relative(dir, p));
      if (statSync(p).isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('worker-admin init', () => {
  it(`scaffolds ts, python and exec connectors that pack, start and answer their command${SKIP_REASON ? ` (python and exec: ${SKIP_REASON})` : ''}`, async () => {
    const dir = project();
    const langs = PYTHON ? (['ts', 'python', 'exec'] as const) : (['ts'] as const);
    const products = { ts: 'acme/weather', python: 'acme/snake', exec: 'tools/any-lang' };
    for (const lang of langs) {
      const r = init(dir, products[lang], '--lang', lang);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`registered ${products[lang]} in ${join(dir, 'admin.yaml')}: npm start runs it`);
    }
    expect(readFileSync(join(dir, 'admin.yaml'), 'utf8')).toMatch(/^# test project\n[\s\S]*\nconnectors:\n {2}- \{ type: acme, product: weather, versions: \["\^1"\] \}\n/);
    expect(tree(join(dir, 'connectors', 'acme', 'weather'))).toEqual(['1', '1/0', '1/0/worker', '1/0/worker/worker.ts', '1_configuration.yaml', 'keys.yaml']);

    const config = await loadAdminConfig(join(dir, 'admin.yaml'), { env: {} });
    expect(config.connectors.map((c) => c.ref)).toEqual(langs.map((l) => products[l]));
    stack = await startStack({ config, connectorsDir: join(dir, 'connectors'), logger: createLogger('init-test', { level: 'silent' }) });
    expect(stack.skipped).toEqual([]);
    const client = connectRouter({ address: stack.router.address, token: stack.credentials.clientToken });
    try {
      const commands = { ts: 'WEATHER', python: 'SNAKE', exec: 'ANY_LANG' };
      for (const lang of langs) {
        const reply = await client.send(commands[lang], { name: lang });
        expect(reply, reply.error).toMatchObject({ status: 'SUCCESS', payload: { greeting: `hello, ${lang}` } });
      }
    } finally {
      client.close();
    }
  }, 120_000);

  it('refuses a taken product or a bad name and writes nothing', async () => {
    const dir = project();
    expect(init(dir, 'acme/weather').status).toBe(0);
    const before = tree(dir);
    const config = readFileSync(join(dir, 'admin.yaml'), 'utf8');
    const taken = init(dir, 'acme/weather', '--lang', 'python');
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/acme\/weather is taken \(nothing written\)/);
    for (const bad of ['Acme/weather', 'acme', 'acme/weather/extra', 'acme/../x']) {
      const r = init(dir, bad);
      expect(r.status, bad).not.toBe(0);
      expect(r.stderr).toMatch(/NAME_INVALID: .* is not TYPE\/PRODUCT/);
    }
    expect(init(dir, 'acme/other', '--lang', 'cobol').stderr).toMatch(/--lang "cobol": expected ts, python, exec/);
    expect(tree(dir)).toEqual(before);
    expect(readFileSync(join(dir, 'admin.yaml'), 'utf8')).toBe(config);
  });
});
