// The Python SDK over mutual TLS: the admin gives its worker the CA and the client certificate as PEM text on stdin,
// the worker connects to a TLS router on TCP and serves a command.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAdmin, type Admin as RunningAdmin } from '../../src/admin/admin.js';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { startRepositoryServer, type RepositoryServer } from '../../src/repository/server.js';
import { startRouter, type RunningRouter } from '../../src/router/server.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { makeToken } from '../helpers/router.js';
import { packedPythonRepository, PYTHON, SKIP_REASON } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'wa-pytls-'));
const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all from openssl. */
function makeCertificates(): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=ca');
  for (const [name, ext] of [['server', ['-extfile', 'san.ext']], ['client', []]] as const) {
    ssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', ...ext);
  }
}

let router: RunningRouter | undefined;
let repository: RepositoryServer | undefined;
let admin: RunningAdmin | undefined;
afterAll(async () => {
  await admin?.close();
  await router?.close();
  await repository?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!PYTHON)(`the Python SDK over mutual TLS${SKIP_REASON ? ` (${SKIP_REASON})` : ''}`, () => {
  it('a Python worker started by a TLS admin connects with the PEM of its start line and serves', async () => {
    makeCertificates();
    const adminToken = makeToken();
    const clientToken = makeToken();
    const logger = createLogger('pytls', { level: 'silent' });
    router = await startRouter({
      listen: '127.0.0.1:0', stateDir: join(dir, 'router'), adminToken, clientToken,
      tls: { cert: pem('server.pem'), key: pem('server.key'), ca: pem('ca.pem') }, logger,
    });
    repository = await startRepositoryServer({ dir: await packedPythonRepository(), listen: '127.0.0.1:0' });
    const config = parseAdminConfigObject({
      stateDir: join(dir, 'admin'),
      router: { address: router.address, tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') } },
      ops: { listen: '127.0.0.1:0' }, timeouts: { start: '20s', drain: '3s', kill: '1s' },
      connectors: [{ type: 'tests', product: 'pyecho', versions: ['1.0'] }],
    }, { file: '<pytls>', env: {} });
    admin = await startAdmin({ config, adminToken, routerAddress: router.address, repositoryUrl: repository.url, logger });
    await admin.startConfiguredConnectors();
    expect(admin.registry.statuses().map((w) => `${w.identifier} ${w.state}`)).toEqual(['tests-pyecho-1 READY']);
    const rpc = createRouterRpc({ address: router.address, token: clientToken, tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') } });
    try {
      const reply = await rpc.sendCommand({ command: 'PY_ECHO', payload: '{"over":"tls"}', timeout_ms: 10_000 });
      expect(reply).toMatchObject({ status: 'SUCCESS', payload: '{"over":"tls"}', worker: 'tests-pyecho-1@1.0' });
    } finally {
      rpc.close();
    }
  }, 60_000);
});
