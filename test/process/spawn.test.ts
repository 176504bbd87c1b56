import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isWorkerAdminError } from '../../src/common/errors.js';
import { WORKER_ENV_ALLOW_LIST, workerEnv } from '../../src/process/env.js';
import { entryCommand, spawnWorker } from '../../src/process/spawn.js';
import { FIXTURES, Janitor, fixture, runFixture, waitFor } from './helpers.js';

const janitor = new Janitor();
afterEach(() => janitor.cleanup());

const TOKEN = 'stdin-only-token-0123456789abcdef0123456789';
const SECRET = 'smtp-password-never-in-argv-or-env';

describe('spawnWorker', () => {
  it('gives the worker argv as given, the allow-listed env only, and the JSON line on stdin; no secret in /proc', async () => {
    const adminEnv = {
      PATH: process.env['PATH'], HOME: '/home/admin', LANG: 'C.UTF-8', TZ: 'UTC',
      NODE_OPTIONS: '--require /tmp/evil.js', WORKER_ADMIN_TOKEN: TOKEN, SMTP_PASSWORD: SECRET,
    };
    const stdin = { identifier: 'utils-echo-1', target: 'unix:/tmp/r.sock', token: TOKEN, config: { password: SECRET } };
    const run = await runFixture(janitor, 'dump.mjs', stdin, {
      args: [fixture('dump.mjs'), '--identifier', 'utils-echo-1', '--target', 'unix:/tmp/r.sock'], env: adminEnv,
    });
    const dump = JSON.parse(await run.line((l) => l.startsWith('{'))) as { argv: string[]; env: Record<string, string>; stdin: unknown; cwd: string; pid: number };
    expect(dump.pid).toBe(run.child.pid);
    expect(dump.argv).toEqual(['--identifier', 'utils-echo-1', '--target', 'unix:/tmp/r.sock']);
    expect(dump.stdin).toEqual(stdin);
    expect(dump.cwd).toBe(FIXTURES);
    // Only the allow-list; nothing execa or the admin would have merged in (Node itself may not add variables either).
    expect(dump.env).toEqual({ PATH: process.env['PATH'], HOME: '/home/admin', LANG: 'C.UTF-8', TZ: 'UTC' });

    const cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8');
    const environ = readFileSync(`/proc/${run.child.pid}/environ`, 'utf8');
    expect(cmdline.split('\0').filter(Boolean)).toEqual([process.execPath, fixture('dump.mjs'), '--identifier', 'utils-echo-1', '--target', 'unix:/tmp/r.sock']);
    for (const text of [cmdline, environ]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('NODE_OPTIONS');
      expect(text).not.toContain('WORKER_ADMIN');
    }
    expect(environ.split('\0').filter(Boolean).map((kv) => kv.split('=')[0]).sort()).toEqual(['HOME', 'LANG', 'PATH', 'TZ']);
  });

  it('runs the worker in its own process group', async () => {
    const run = await runFixture(janitor, 'hang.mjs');
    await run.line((l) => l === 'ready');
    const stat = readFileSync(`/proc/${run.child.pid}/stat`, 'utf8');
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(run.child.pgid).toBe(run.child.pid);
    expect(pgrp).toBe(run.child.pid);
  });

  it('streams stdout and stderr as lines (\\r\\n and a last partial line included) and reports the exit', async () => {
    const run = await runFixture(janitor, 'stderr.mjs', { lines: 2 });
    expect(await run.child.exited).toEqual({ code: 0, signal: null });
    await run.child.outputClosed;
    expect(run.lines.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['out 1', 'out 2']);
    expect(run.lines.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(['err 1', 'err 2', 'no newline at the end']);
  });

  it('reports a crash with its exit code', async () => {
    const run = await runFixture(janitor, 'crash.mjs', { exitCode: 7 });
    expect(await run.child.exited).toEqual({ code: 7, signal: null });
  });

  it('resolves `exited` when the worker exits even though a grandchild still holds its stdout', async () => {
    const run = await runFixture(janitor, 'grandchild.mjs', { exitAfterSpawn: true });
    const { grandchild } = JSON.parse(await run.line((l) => l.startsWith('{'))) as { grandchild: number };
    expect(await run.child.exited).toEqual({ code: 0, signal: null });
    expect(() => process.kill(grandchild, 0)).not.toThrow(); // still running, pipe still open
  });

  it('survives a worker that exits without reading its stdin line', async () => {
    const child = await spawnWorker({ command: process.execPath, args: ['-e', 'process.exit(4)'], cwd: FIXTURES, stdinLine: JSON.stringify({ pad: 'x'.repeat(1 << 20) }) });
    janitor.track(child.pgid);
    expect(await child.exited).toEqual({ code: 4, signal: null });
  });

  it('refuses a command that cannot run with SPAWN_FAILED naming it', async () => {
    const error = await spawnWorker({ command: '/nonexistent/worker', args: [], cwd: FIXTURES, stdinLine: '{}' }).catch((e: unknown) => e);
    expect(isWorkerAdminError(error, 'SPAWN_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/cannot run \/nonexistent\/worker in .*ENOENT/);
  });

  it('refuses a stdin "line" holding a newline', async () => {
    await expect(spawnWorker({ command: process.execPath, args: [], cwd: FIXTURES, stdinLine: '{}\n{}' })).rejects.toThrowError(/one line of JSON/);
  });

  it('runs a .mjs entry with this Node.js and any other entry as is', () => {
    expect(entryCommand('/w/worker.mjs', ['--identifier', 'x'])).toEqual({ command: process.execPath, args: ['/w/worker.mjs', '--identifier', 'x'] });
    expect(entryCommand('/w/worker', ['--identifier', 'x'])).toEqual({ command: '/w/worker', args: ['--identifier', 'x'] });
  });

  it('workerEnv keeps PATH, HOME, LANG, TZ and never NODE_OPTIONS', () => {
    expect(WORKER_ENV_ALLOW_LIST).not.toContain('NODE_OPTIONS');
    expect(workerEnv({ PATH: '/bin', NODE_OPTIONS: '-r x', TZ: 'UTC', SECRET: 's' })).toEqual({ PATH: '/bin', TZ: 'UTC' });
  });

  it('delivers lines while the worker runs (not only at exit)', async () => {
    const run = await runFixture(janitor, 'hang.mjs');
    await waitFor(() => run.lines.some((l) => l.line === 'ready'), 'the ready line');
    expect(run.lines).toEqual([{ stream: 'stdout', line: 'ready' }]);
  });
});
