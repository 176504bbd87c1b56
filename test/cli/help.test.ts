// `worker-admin --help` and `worker-admin COMMAND --help` as a user runs them: the overview lists each command's own usage.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/stack.js';

const BIN = join(ROOT, 'bin', 'worker-admin.js');

function cli(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    // Built here, not inherited: no WORKER_ADMIN_* variable of the caller reaches the CLI.
    const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/' };
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout }));
  });
}

describe('worker-admin --help', () => {
  it('lists every command with the usage its own --help prints (up --connectors included)', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    const names = [...help.stdout.matchAll(/^ +worker-admin (\S+)/gm)].map((m) => m[1]!);
    expect(names).toEqual(expect.arrayContaining(['up', 'router', 'admin', 'send', 'events', 'fetch', 'pack', 'repo', 'status']));
    expect(help.stdout).toContain('worker-admin up [--config config/admin.yaml] [--connectors DIR]…');
    for (const name of names) {
      const own = await cli([name, '--help']);
      expect(own.code, name).toBe(0);
      const usage = /usage: (worker-admin .*)/.exec(own.stdout)?.[1];
      expect(usage, `${name} --help prints a usage line`).toBeDefined();
      expect(help.stdout, `${name}: the overview shows the command's own usage`).toContain(usage!);
    }
  });
});
