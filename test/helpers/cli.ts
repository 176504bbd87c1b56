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

interface CliRunOptions {
  /** Written to the child's stdin, which is then closed (default: no stdin). */
  input?: string;
  /** Added to testEnv(). */
  env?: Record<string, string>;
}

interface CliRunner {
  /** Runs `worker-admin ARGS` to its end. */
  run(args: string[], options?: CliRunOptions): Promise<CliRun>;
  /** SIGKILLs every child still running (afterEach). */
  kill(): void;
}

/** A runner whose children start in `cwd` (default: the temp dir; a function: asked at each run) with testEnv(). */
export function cliRunner(cwd: string | (() => string) = tmpdir()): CliRunner {
  const children = new Set<ChildProcess>();
  return {
    run(args, options = {}) {
      return new Promise((resolve) => {
        const dir = typeof cwd === 'function' ? cwd() : cwd;
        const stdin = options.input === undefined ? 'ignore' : 'pipe';
        const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: testEnv(options.env), stdio: [stdin, 'pipe', 'pipe'] });
        children.add(child);
        if (options.input !== undefined) {
          child.stdin!.on('error', () => undefined); // a CLI that exits before reading its stdin
          child.stdin!.end(options.input);
        }
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
