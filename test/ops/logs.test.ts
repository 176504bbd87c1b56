// `worker-admin logs` as a user runs it (node bin/worker-admin.js) against a real stack: tails, earlier runs' files, and one
// --follow that keeps printing across a crash restart and an ADMIN_UPDATE; refused without the admin token.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRepository } from '../../src/packages/pack/pack.js';
import { ROOT, startTestStack, type TestStack } from '../helpers/stack.js';
import { http } from './helpers.js';

const BIN = join(ROOT, 'bin', 'worker-admin.js');
// Kept out of test/fixtures/connectors: every stack packs that tree, and only this file needs the talking worker.
const OUTPUT_FIXTURES = join(ROOT, 'test/fixtures/output-connectors');
const ID = 'tests-chatty-1';
let t: TestStack;
const children = new Set<ChildProcessWithoutNullStreams>();

/** The CLI with an environment of our own: PATH and HOME only (no WORKER_ADMIN_* from the test's environment). */
function cliProcess(args: string[]): { child: ChildProcessWithoutNullStreams; out: string[]; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() }, cwd: tmpdir() });
  children.add(child);
  const out: string[] = [];
  let pending = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    pending += c.toString();
    const parts = pending.split('\n');
    pending = parts.pop()!;
    out.push(...parts);
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => {
    children.delete(child);
    resolve(code);
  }));
  return { child, out, err: () => err, exited };
}

// The SDK's own state lines (on stderr) are output too; the assertions look at the fixture's.
const own = (lines: string[]): string[] => lines.filter((l) => l !== '' && !l.includes('[worker-admin/sdk]'));

async function cli(args: string[]): Promise<{ code: number | null; out: string[]; err: string }> {
  const run = cliProcess(args);
  const code = await run.exited;
  return { code, out: run.out, err: run.err() };
}

/** Resolves once `out` has a line matching, polling the array the child's stdout fills (no fixed sleep). */
async function lineMatching(out: string[], re: RegExp, ms = 20_000): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const index = out.findIndex((l) => re.test(l));
    if (index !== -1) return index;
    if (Date.now() > until) throw new Error(`no line matching ${re} within ${ms} ms; got:\n${out.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Publishes tests/chatty@1.MINOR (the fixture's worker) into the running stack's repository. */
async function publishChatty(minor: number): Promise<void> {
  const src = mkdtempSync(join(tmpdir(), 'wa-chatty-'));
  try {
    const dir = join(src, 'tests', 'chatty');
    mkdirSync(join(dir, '1', String(minor)), { recursive: true });
    cpSync(join(OUTPUT_FIXTURES, 'tests/keys.yaml'), join(src, 'tests/keys.yaml'));
    cpSync(join(OUTPUT_FIXTURES, 'tests/chatty/1_configuration.yaml'), join(dir, '1_configuration.yaml'));
    cpSync(join(OUTPUT_FIXTURES, 'tests/chatty/1/0/worker'), join(dir, '1', String(minor), 'worker'), { recursive: true });
    await packRepository({ src, out: join(t.stateDir, 'repository') });
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  t = await startTestStack({ mode: 'development' });
  await publishChatty(0);
  const started = await t.send('ADMIN_START_WORKER', { product: 'tests/chatty', version: '1.0' });
  expect(started.status).toBe('SUCCESS');
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await t?.close();
});

describe('worker-admin logs', () => {
  it('--follow prints the old version\'s lines, then the restarted process\'s, then the new version\'s across an ADMIN_UPDATE, in one run of the command', async () => {
    const follow = cliProcess(['logs', ID, '--follow', '--lines', '5', '--state-dir', t.stateDir]);
    await lineMatching(follow.out, new RegExp(`^${ID}@1\\.0 \\| started$`));
    expect((await t.send('ECHO', { n: 1 })).status).toBe('SUCCESS');
    await lineMatching(follow.out, new RegExp(`^${ID}@1\\.0 \\| echo \\{"n":1\\}$`));

    // A crash: the restarted process's lines follow on the same stream.
    const restarts = t.events.length;
    expect((await t.send('EXIT', {})).status).toBe('SUCCESS');
    await t.waitForEvent((e, p) => e.event === 'WORKER_READY' && p['identifier'] === ID, 20_000, restarts);
    await expect.poll(() => follow.out.filter((l) => l === `${ID}@1.0 | started`).length, { timeout: 20_000 }).toBe(2);

    await publishChatty(1);
    const update = await t.send('ADMIN_UPDATE', { product: 'tests/chatty' });
    expect(update).toMatchObject({ status: 'SUCCESS', data: { from: '1.0', to: '1.1', instances: [ID] } });
    const newStart = await lineMatching(follow.out, new RegExp(`^${ID}@1\\.1 \\| started$`));
    expect((await t.send('ECHO', { n: 2 })).status).toBe('SUCCESS');
    const newEcho = await lineMatching(follow.out, new RegExp(`^${ID}@1\\.1 \\| echo \\{"n":2\\}$`));
    expect(follow.out.findIndex((l) => l === `${ID}@1.0 | echo {"n":1}`)).toBeLessThan(newStart);
    expect(newStart).toBeLessThan(newEcho);
    expect(follow.child.exitCode).toBeNull(); // the same command, still following

    follow.child.kill('SIGINT');
    expect(await follow.exited).toBe(0);
    expect(follow.err()).toBe('');
  }, 180_000);

  it('--lines N prints the last N lines of the instance; no identifier: every instance', async () => {
    const last = await cli(['logs', ID, '--lines', '2', '--state-dir', t.stateDir]);
    expect(last.code).toBe(0);
    expect(last.out.filter((l) => l !== '')).toHaveLength(2);
    expect(last.out.at(-1)).toBe(`${ID}@1.1 | echo {"n":2}`);
    // The tail spans the runs kept: the old version's last lines (its drain) and the new one's, in time order.
    const more = await cli(['logs', ID, '--lines', '50', '--state-dir', t.stateDir]);
    expect(own(more.out).slice(-2)).toEqual([`${ID}@1.1 | started`, `${ID}@1.1 | echo {"n":2}`]);
    expect(more.out.some((l) => l.startsWith(`${ID}@1.0 | `))).toBe(true);
    const other = await t.send('ADMIN_START_WORKER', { product: 'tests/chatty', version: '1.0', identifier: 'second-chatty' });
    expect(other.status).toBe('SUCCESS');
    await expect.poll(async () => (await cli(['logs', '--state-dir', t.stateDir])).out, { timeout: 10_000 })
      .toEqual(expect.arrayContaining([`${ID}@1.1 | echo {"n":2}`, 'second-chatty@1.0 | started']));
  });

  it('--run N prints an earlier run\'s file (development mode keeps them), prefixed with that run\'s version', async () => {
    const first = await cli(['logs', ID, '--run', '1', '--lines', '10', '--state-dir', t.stateDir]);
    expect(first.code).toBe(0);
    expect(own(first.out)).toEqual([`${ID}@1.0 | started`, `${ID}@1.0 | echo {"n":1}`]);
    const missing = await cli(['logs', ID, '--run', '99', '--state-dir', t.stateDir]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/NOT_FOUND: .*run 99 of tests-chatty-1 has no log file/);
    const unknown = await cli(['logs', 'no-such-worker', '--state-dir', t.stateDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/NOT_FOUND: .*no instance 'no-such-worker'/);
    const usage = await cli(['logs', ID, '--run', '1', '--follow']);
    expect(usage.code).toBe(2);
  });

  it('is refused without the admin token (HTTP 401, and the CLI exits 1 naming AUTH_INVALID)', async () => {
    const base = `http://${t.stack.ops.address}`;
    const bare = await http(base, 'GET', `/api/v1/logs?identifier=${ID}`);
    expect(bare.status).toBe(401);
    expect(bare.body).toEqual({ detail: expect.stringMatching(/admin token required/) });
    const wrong = await http(base, 'GET', `/api/v1/logs?identifier=${ID}&follow=true`, { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    // No credentials file, no token in the environment, none given.
    const run = await cli(['logs', ID, '--follow', '--ops', t.stack.ops.address, '--state-dir', '/nonexistent']);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([]);
    expect(run.err).toMatch(/^worker-admin logs: AUTH_INVALID: ops API .* answered 401: admin token required/);
  });
});
