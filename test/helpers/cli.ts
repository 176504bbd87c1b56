// `worker-admin …` run as a user runs it (node bin/worker-admin.js), in an environment built here; every child still
// running when a test ends is killed by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv } from './env.js';
import { REPO_ROOT } from './workers.js';

const BIN = join(REPO_ROOT, 'bin', 'worker-admin.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface CliRunner {
  /** Runs `worker-admin ARGS` to its end. */
  run(args: string[]): Promise<CliRun>;
  /** SIGKILLs every child still running (afterEach). */
  kill(): void;
}

/** A runner whose children start in `cwd` (default: the temp dir) with testEnv(). */
export function cliRunner(cwd = tmpdir()): CliRunner {
  const children = new Set<ChildProcess>();
  return {
    run(args) {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code) => {
          children.delete(child);
          resolve({ code, stdout, stderr });
        });
      });
    },
    kill() {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}
