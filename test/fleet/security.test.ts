// Engine credentials: a host with a wrong NATS or etcd password refuses to start, naming the engine; after a run, no
// token, password or secret config value is found in etcd or in anything published on NATS.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { Etcd3 } from 'etcd3';
import { startEtcd, startNatsServer, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { startLocalFleet } from '../../src/fleet/demo/local-fleet.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { fleetSkipReason, until } from './engines.js';
import { packedRepository } from '../helpers/stack.js';

const skip = await fleetSkipReason();

describe.skipIf(skip !== undefined)('fleet engines with credentials', () => {
  const dir = mkdtempSync(join('/dev/shm', 'wa-fleet-sec-'));
  const natsAuth = { user: 'fleet', password: 'nats-pass-7f3a9c1e55d2' };
  const etcdAuth = { username: 'root', password: 'etcd-pass-b81d2e4f09a6' };
  const tokens = { admin: 'admintoken-5c8e1f2a9b7d4e6c0a3f5b8d2e7c1a9f', client: 'clienttoken-9e2d7c4b1a8f6e3d0c5b9a2f7e4d1c8b' };
  const secretValue = 'api-key-secret-3f9d8a7c6b5e';
  let nats: LocalServer;
  let etcd: LocalServer;

  beforeAll(async () => {
    nats = await startNatsServer({ dir: join(dir, 'nats'), auth: { user: natsAuth.user, password: natsAuth.password } });
    etcd = await startEtcd({ dir: join(dir, 'etcd') });
    const admin = new Etcd3({ hosts: etcd.url });
    await admin.user(etcdAuth.username).create(etcdAuth.password);
    await admin.user(etcdAuth.username).addRole('root');
    await admin.auth.authEnable({});
    admin.close();
  }, 60_000);

  afterAll(async () => {
    await nats?.stop();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  const fleetOf = async (name: string, overrides: { nats?: typeof natsAuth; etcd?: typeof etcdAuth }) => startLocalFleet({
    dir: join(dir, name), repositoryDir: await packedRepository(), tokens, leaseTtl: '3s',
    engines: { nats: [nats.url], etcd: [etcd.url] },
    natsAuth: overrides.nats ?? natsAuth, etcdAuth: overrides.etcd ?? etcdAuth,
    hosts: [{ name: 'host-a' }],
  });

  it('refuses to start with a wrong NATS password, naming NATS', async () => {
    await expect(fleetOf('bad-nats', { nats: { ...natsAuth, password: 'wrong-password-1' } })).rejects.toThrow(/FLEET_ENGINE: nats: /);
  }, 60_000);

  it('refuses to start with a wrong etcd password, naming etcd', async () => {
    await expect(fleetOf('bad-etcd', { etcd: { ...etcdAuth, password: 'wrong-password-2' } })).rejects.toThrow(/FLEET_ENGINE: etcd: /);
  }, 60_000);

  it('refuses to start against a nats-server whose max_payload cannot carry a 4 MiB command, naming it', async () => {
    const small = await startNatsServer({ dir: join(dir, 'nats-small'), maxPayload: 1024 * 1024, auth: { user: natsAuth.user, password: natsAuth.password } });
    try {
      const attempt = startLocalFleet({
        dir: join(dir, 'small'), repositoryDir: await packedRepository(), tokens, leaseTtl: '3s',
        engines: { nats: [small.url], etcd: [etcd.url] }, natsAuth, etcdAuth, hosts: [{ name: 'host-a' }],
      });
      await expect(attempt).rejects.toThrow(/FLEET_ENGINE: nats: the server allows messages of 1048576 bytes \(max_payload\)/);
    } finally {
      await small.stop();
    }
  }, 60_000);

  it('writes no secret to etcd and publishes none on NATS', async () => {
    const spy = await connect({ servers: nats.url, user: natsAuth.user, pass: natsAuth.password });
    const seen: string[] = [];
    spy.subscribe('>', { callback: (_e, msg) => void seen.push(`${msg.subject} ${JSON.stringify(msg.headers ? [...msg.headers] : [])} ${msg.string()}`) });
    await spy.flush();
    const fleet = await startLocalFleet({
      dir: join(dir, 'good'), repositoryDir: await packedRepository(), tokens, leaseTtl: '3s',
      engines: { nats: [nats.url], etcd: [etcd.url] }, natsAuth, etcdAuth, prefix: '/wa-sec',
      hosts: [
        { name: 'host-a' },
        { name: 'host-b', connectors: [{ type: 'utils', product: 'echo', versions: ['1.1'], config: { greeting: 'hi', api_key: secretValue } }] },
      ],
    });
    const rpc = createRouterRpc({ address: fleet.host('host-a').router, token: tokens.admin });
    try {
      await until(async () => (await rpc.sendCommand({ command: 'ECHO', payload: '{"x":1}', timeout_ms: 2000 })).status === 'SUCCESS', 60_000, 'A reaches B');
      const listed = await rpc.sendCommand({ command: 'ADMIN_LIST_WORKERS', payload: '{}', target: 'admin@host-b', timeout_ms: 10_000 });
      expect(listed.status).toBe('SUCCESS');
      await rpc.sendCommand({ command: 'ECHO', payload: '{"x":2}', uuid: 'sec-uuid-1', timeout_ms: 5000 });
    } finally {
      rpc.close();
      await fleet.close();
    }
    await spy.flush();
    await spy.close();
    const client = new Etcd3({ hosts: etcd.url, auth: etcdAuth });
    const stored = await client.getAll().prefix('/').strings();
    client.close();
    const etcdText = JSON.stringify(stored);
    const natsText = seen.join('\n');
    expect(Object.keys(stored).some((k) => k.startsWith('/wa-sec/'))).toBe(true);
    expect(seen.length).toBeGreaterThan(5);
    for (const secret of [tokens.admin, tokens.client, natsAuth.password, etcdAuth.password, secretValue, 'not-a-real-key']) {
      expect(etcdText.includes(secret), `etcd holds ${secret.slice(0, 8)}…`).toBe(false);
      expect(natsText.includes(secret), `NATS carried ${secret.slice(0, 8)}…`).toBe(false);
    }
  }, 120_000);
});
