// Publishing tests: a source tree whose worker answers CONFIG with its configuration, `repo serve` and `publish` run
// as the built CLI, and an admin (router + admin in this process) on its own state dir using a remote repository.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { startAdmin, type Admin as RunningAdmin } from '../../src/admin/admin.js';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { startRouter } from '../../src/router/server.js';
import type { Reply } from '../../src/proto/types.js';
import { sendAdmin } from './admin-events.js';
import { createCleanup, writeTree } from './repo.js';
import { ROOT } from './stack.js';

export const BIN = join(ROOT, 'bin/worker-admin.js');
type Cleanup = ReturnType<typeof createCleanup>;

/** The environment every CLI child gets: nothing inherited from WORKER_ADMIN_*. */
export function cliEnv(): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' };
}

/** A worker.mjs (bundled with the SDK) answering CONFIG with {version, config}. */
const CONFIG_WORKER = `import { startWorker } from 'worker-admin/sdk';
let worker;
worker = await startWorker({ commands: { CONFIG: async () => ({ version: worker?.version ?? null, config: worker?.config ?? {} }) } });
`;

/** tests/pub source: keys at layers 2 and 4 (layer 4 gives `flavor` a per-version default), pivot with CONFIG. */
export async function writePubSource(root: string, versions: string[], worker = CONFIG_WORKER): Promise<void> {
  const files: Record<string, string> = {
    'tests/pub/keys.yaml': '- name: greeting\n  type: string\n  default: hello\n',
    'tests/pub/1_configuration.yaml': 'commands:\n  - name: CONFIG\n    schema: { type: object }\nevents: []\n',
  };
  for (const v of versions) {
    const [major, minor] = v.split('.');
    files[`tests/pub/${major}/${minor}/keys.yaml`] = `- name: flavor\n  type: string\n  default: flavor-${v}\n`;
    files[`tests/pub/${major}/${minor}/worker/worker.mjs`] = `${worker}// ${v}\n`;
  }
  await writeTree(root, files);
}

/** `repo serve DIR --upload-token-file F` on port 0; killed by pid in the cleanup. */
export async function serveRepository(cleanup: Cleanup, dir: string, tokenFile: string): Promise<{ url: string; child: ResultPromise }> {
  const child = execa('node', [BIN, 'repo', 'serve', dir, '--listen', '127.0.0.1:0', '--upload-token-file', tokenFile], { reject: false, env: cliEnv(), extendEnv: false });
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

/** Runs `worker-admin ARGS` to its end (never rejects: the test reads exitCode, stdout, stderr). */
export function cli(args: string[]) {
  return execa('node', [BIN, ...args], { reject: false, env: cliEnv(), extendEnv: false });
}

/** A new upload token written to `file`. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

interface RemoteAdmin {
  admin: RunningAdmin;
  rpc: RouterRpc;
  send(command: string, payload?: unknown): Promise<Reply & { data: unknown }>;
}

/** A router and an admin on `stateDir`, fetching from `repositoryUrl`; closed by the cleanup. */
export async function startRemoteAdmin(cleanup: Cleanup, stateDir: string, repositoryUrl: string, repository: Record<string, unknown> = {}): Promise<RemoteAdmin> {
  const adminToken = randomBytes(32).toString('base64url');
  const logger = createLogger('test', { level: process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'silent' });
  const config = parseAdminConfigObject({
    stateDir, router: { address: `unix:${join(stateDir, 'router.sock')}` }, ops: { listen: '127.0.0.1:0' }, connectors: [],
    repository: { url: repositoryUrl, ...repository }, timeouts: { start: '20s', drain: '5s', kill: '2s' },
  }, { file: '<test>', env: {} });
  const router = await startRouter({ listen: `unix:${join(stateDir, 'router.sock')}`, stateDir, adminToken, logger });
  cleanup.add(() => router.close());
  const admin = await startAdmin({ config, adminToken, routerAddress: router.address, logger, backoff: { initialDelayMs: 50, maxDelayMs: 200 } });
  cleanup.add(() => admin.close());
  const rpc = createRouterRpc({ address: router.address, token: adminToken });
  cleanup.add(() => rpc.close());
  return { admin, rpc, send: (command, payload) => sendAdmin(rpc, command, payload) };
}

/** Every file under `dir` (relative path → sha256), temp files included: what a repository serves. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}
