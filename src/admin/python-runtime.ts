// Which Python runs `worker.py` packages: the connector's `python:` setting, else the first python3 that can import
// grpc and protobuf, found once per admin (a pyenv shim costs ~0.3 s a start; the interpreter it resolves to does not).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { workerEnv } from '../process/env.js';

/** Where a Python with grpcio is looked for, in order (the launcher in the package uses the same list). */
export const PYTHON_CANDIDATES = ['python3', '/usr/bin/python3', '/usr/local/bin/python3'] as const;
export const PYTHON_INSTALL_HINT = 'apt-get install python3-grpcio python3-protobuf';

/** What a probe found: the interpreter (its real path) or, for each candidate, why not. */
export interface PythonProbe {
  found: string | undefined;
  tried: string[];
}

const PROBE = 'import sys, grpc, google.protobuf; print(sys.executable)';
let found: Promise<PythonProbe> | undefined;

/** Probes the candidates in parallel, keeps the first in order that imports grpc; a success is remembered. */
export function probePython(): Promise<PythonProbe> {
  const probe = (found ??= runProbe());
  // a failure is not remembered: installing python3-grpcio must not need an admin restart
  void probe.then((p) => { if (!p.found) found = undefined; });
  return probe;
}

async function runProbe(): Promise<PythonProbe> {
  const results = await Promise.all(PYTHON_CANDIDATES.map((py) => new Promise<{ path?: string; why: string }>((resolve) => {
    execFile(py, ['-c', PROBE], { env: workerEnv(), timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) return resolve({ path: stdout.trim().split('\n').pop() || py, why: '' });
      const last = stderr.trim().split('\n').pop() ?? '';
      resolve({ why: `${py}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : last || error.message}` });
    });
  })));
  const hit = results.find((r) => r.path);
  return { found: hit?.path, tried: results.map((r) => r.why).filter((w) => w) };
}

/** Why no Python can run a worker.py package here, or undefined when one can. */
export async function pythonProblem(): Promise<string | undefined> {
  const probe = await probePython();
  if (probe.found) return undefined;
  return `no python3 can import grpc and protobuf (${probe.tried.join('; ')}): ${PYTHON_INSTALL_HINT}, or set python: in the connector's config`;
}

/** The environment a package's worker gets on top of the allow-list: WORKER_ADMIN_PYTHON for a Python package. */
export async function pythonEnv(packageDir: string, configured: string | undefined): Promise<Record<string, string> | undefined> {
  if (!existsSync(join(packageDir, 'worker.py'))) return undefined;
  if (configured) return { WORKER_ADMIN_PYTHON: configured };
  const probe = await probePython();
  // none found: the launcher searches itself and its message names the missing module
  return probe.found ? { WORKER_ADMIN_PYTHON: probe.found } : undefined;
}
