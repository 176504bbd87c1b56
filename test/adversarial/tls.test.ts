// TLS and transport refusals: a mutual-TLS router with an admin and its worker (PEM on stdin) serving, and the bad
// callers refused while they keep serving: plaintext, no certificate, a certificate from another CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdmin, type Admin } from '../../src/admin/admin.js';
import { createLogger } from '../../src/common/log.js';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { packRepository } from '../../src/packages/pack/pack.js';
import { startRepositoryServer, type RepositoryServer } from '../../src/repository/server.js';
import { startRouter, type RunningRouter } from '../../src/router/server.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import type { TlsOptions } from '../../src/sdk/types.js';
import { testEnv } from '../helpers/env.js';
import { makeToken } from '../helpers/router.js';
import { ROOT } from '../helpers/stack.js';
import { childPids } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'wa-tls-'));
const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');

/** A CA, a server certificate for 127.0.0.1, a client certificate it signed, and a rogue CA's client certificate. */
function makeCertificates(): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', env: testEnv() });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const ca of ['ca', 'rogue-ca']) ssl('req', '-x509', ...key, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`);
  const issue = (name: string, ca: string, ext: string[] = []): void => {
    ssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', ...ext);
  };
  issue('server', 'ca', ['-extfile', 'san.ext']);
  issue('client', 'ca');
  issue('rogue', 'rogue-ca');
}

let router: RunningRouter;
let repository: RepositoryServer;
let admin: Admin;
let logs = '';
const adminToken = makeToken();
const clientToken = makeToken();
let good: TlsOptions;

beforeAll(async () => {
  makeCertificates();
  good = { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') };
  const logger = createLogger('tls', { level: 'info', destination: new Writable({ write(chunk, _e, done) { logs += String(chunk); done(); } }) });
  router = await startRouter({
    listen: '127.0.0.1:0', stateDir: join(dir, 'router'), adminToken, clientToken,
    tls: { cert: pem('server.pem'), key: pem('server.key'), ca: pem('ca.pem') }, logger,
  });
  await packRepository({ src: join(ROOT, 'connectors'), out: join(dir, 'repo') });
  repository = await startRepositoryServer({ dir: join(dir, 'repo'), listen: '127.0.0.1:0' });
  const config = parseAdminConfigObject({
    stateDir: join(dir, 'admin'),
    router: { address: router.address, tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') } },
    ops: { listen: '127.0.0.1:0' },
    timeouts: { start: '10s', drain: '3s', kill: '1s' },
    connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' } }],
  }, { file: '<tls>', env: {} });
  admin = await startAdmin({ config, adminToken, routerAddress: router.address, repositoryUrl: repository.url, logger });
  await admin.startConfiguredConnectors();
});

afterAll(async () => {
  await admin?.close();
  await router?.close();
  await repository?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The TLS worker is READY and a client with a good certificate is served by it. */
async function expectServed(): Promise<void> {
  const rpc = createRouterRpc({ address: router.address, token: clientToken, tls: good });
  try {
    const reply = await rpc.sendCommand({ command: 'ECHO', payload: '{"over":"tls"}', timeout_ms: 10_000 });
    expect(reply).toMatchObject({ status: 'SUCCESS', payload: '{"over":"tls"}', worker: 'utils-echo-1@1.1' });
  } finally {
    rpc.close();
  }
  expect(admin.registry.statuses().map((w) => `${w.identifier} ${w.state}`)).toEqual(['utils-echo-1 READY']);
}

/** A call with these credentials fails before any command runs: UNAVAILABLE (the handshake never completes). */
async function refusedWith(tls: TlsOptions | undefined): Promise<void> {
  const before = childPids();
  const rpc = createRouterRpc({ address: router.address, token: clientToken, ...(tls ? { tls } : {}) });
  try {
    await expect(rpc.sendCommand({ command: 'ECHO', payload: '{}', timeout_ms: 2_000 }, { deadlineMs: 3_000 }))
      .rejects.toMatchObject({ code: 'ROUTER_ERROR', message: expect.stringMatching(/SendCommand failed with (UNAVAILABLE|DEADLINE_EXCEEDED)/) });
  } finally {
    rpc.close();
  }
  expect(childPids()).toEqual(before);
  await expectServed();
}

describe('adversarial: TLS', () => {
  it('the admin and its worker connect over mutual TLS (the worker gets the PEM on stdin) and serve', async () => {
    await expectServed();
    expect(logs).toMatch(/"tls":"mutual".*router listening/);
    // PEM travels on stdin only: no path and no PEM in the worker's argv
    const pid = admin.registry.statuses()[0]!.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toMatch(/BEGIN|\.pem|\.key/);
  });

  it('a plaintext client to the TLS router', async () => {
    await refusedWith(undefined);
  });

  it('a client without a certificate (mutual TLS)', async () => {
    await refusedWith({ ca: pem('ca.pem') });
  });

  it('a client certificate from another CA', async () => {
    await refusedWith({ ca: pem('ca.pem'), cert: pem('rogue.pem'), key: pem('rogue.key') });
  });

  it('a client that does not trust the router (another CA)', async () => {
    await refusedWith({ ca: pem('rogue-ca.pem'), cert: pem('client.pem'), key: pem('client.key') });
  });
});

describe('adversarial: listening', () => {
  const base = () => ({ stateDir: join(dir, 'other'), adminToken: makeToken() });

  it('a non-loopback address without TLS is refused; with insecure it starts and warns', async () => {
    await expect(startRouter({ ...base(), listen: '0.0.0.0:0' })).rejects.toMatchObject({
      code: 'ADDRESS_INVALID', message: expect.stringMatching(/0\.0\.0\.0:0 is not loopback.*--tls-cert\/--tls-key\) or pass --insecure/),
    });
    let warned = '';
    const logger = createLogger('insecure', { level: 'warn', destination: new Writable({ write(chunk, _e, done) { warned += String(chunk); done(); } }) });
    const open = await startRouter({ ...base(), listen: '0.0.0.0:0', insecure: true, logger });
    await open.close();
    expect(warned).toMatch(/non-loopback address WITHOUT TLS \(--insecure\)/);
    await expectServed();
  });

  it('a unix socket path over 107 bytes is refused at start', async () => {
    const long = `unix:/tmp/${'s'.repeat(120)}.sock`;
    await expect(startRouter({ ...base(), listen: long })).rejects.toMatchObject({ code: 'ADDRESS_INVALID', message: expect.stringMatching(/over the 107-byte limit of unix sockets/) });
    await expectServed();
  });

  it('TLS material that is not PEM is refused at start', async () => {
    await expect(startRouter({ ...base(), listen: '127.0.0.1:0', tls: { cert: 'not a certificate', key: pem('server.key') } }))
      .rejects.toMatchObject({ code: 'CONFIG_INVALID', message: 'router tls.cert is not PEM text' });
    await expectServed();
  });
});
