// A Python worker folder (`worker.py` entry): its files, the vendored Python SDK (worker_admin/, message types
// included) and an executable `worker` launcher that picks a Python with grpcio (docs/workers.md, Python workers).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerAdminError } from '../../common/errors.js';
import { listFiles } from './list-files.js';
import type { ZipInput } from './zip-writer.js';

export const PYTHON_ENTRY = 'worker.py';

/**
 * The launcher: WORKER_ADMIN_PYTHON alone when set (the connector's `python:` setting, or the interpreter the admin
 * found); else python3 on PATH, then /usr/bin/python3, /usr/local/bin/python3: the SDK hands over to the next one
 * when a Python lacks grpcio, and says which module is missing when none has it. `-B`: no __pycache__ in the folder.
 * Shell built-ins only besides Python (its own folder from `$0`, not `dirname`): it runs on a bare PATH.
 */
export const PYTHON_LAUNCHER = `#!/bin/sh
# Written by worker-admin pack: runs worker.py with a Python 3 that can import grpc (see docs/workers.md).
case $0 in */*) cd "\${0%/*}/" || exit 1 ;; esac
WORKER_ADMIN_LAUNCHER=1
export WORKER_ADMIN_LAUNCHER
if [ -n "\${WORKER_ADMIN_PYTHON:-}" ]; then
  WORKER_ADMIN_PYTHON_NEXT=
  export WORKER_ADMIN_PYTHON_NEXT
  exec "$WORKER_ADMIN_PYTHON" -B worker.py "$@"
fi
WORKER_ADMIN_PYTHON_NEXT=/usr/bin/python3:/usr/local/bin/python3
export WORKER_ADMIN_PYTHON_NEXT
for py in python3 /usr/bin/python3 /usr/local/bin/python3; do
  if command -v "$py" >/dev/null 2>&1; then exec "$py" -B worker.py "$@"; fi
done
echo "worker-admin: cannot start: no python3 on PATH ($PATH), /usr/bin or /usr/local/bin: install Debian's python3 and python3-grpcio, or set python: in the connector's config" >&2
exit 3
`;

/** True when the worker folder is a Python worker (and not a JS/TS one, which findEntry reports first). */
export function isPythonWorker(workerDir: string): boolean {
  return existsSync(join(workerDir, PYTHON_ENTRY));
}

/** The Python SDK next to this package: sdk/python/worker_admin at the package root (from src/ or dist/). */
export function pythonSdkDir(): string {
  const dir = fileURLToPath(new URL('../../../sdk/python/worker_admin', import.meta.url));
  if (!existsSync(join(dir, '__init__.py')) || !existsSync(join(dir, 'router.desc'))) {
    throw new WorkerAdminError('INTERNAL', `the Python SDK is missing at ${dir} (router.desc is written by npm run build)`);
  }
  return dir;
}

/** The zip's files for a worker.py folder: the folder (without caches), worker_admin/, and the `worker` launcher. */
export async function pythonWorkerFiles(workerDir: string): Promise<ZipInput[]> {
  const own = await listPythonFiles(workerDir);
  for (const f of own) {
    if (f.path === 'worker' || f.path.startsWith('worker_admin/')) {
      throw new WorkerAdminError('CONFIG_INVALID', `${join(workerDir, f.path)}: a worker.py folder must not hold \`worker\` or worker_admin/ (pack adds them)`);
    }
  }
  const sdk = (await listPythonFiles(pythonSdkDir())).map((f) => ({ ...f, path: `worker_admin/${f.path}`, executable: false }));
  return [...own, ...sdk, { path: 'worker', data: Buffer.from(PYTHON_LAUNCHER), executable: true }];
}

// Files under `root`, minus what a local run of Python leaves behind (bytecode caches) so the zip stays the same.
const listPythonFiles = (root: string): Promise<ZipInput[]> => listFiles(root, (name) => name === '__pycache__' || name.endsWith('.pyc'));
