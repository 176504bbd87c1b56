// Hosts on a 3-node NATS cluster: the node a router is connected to dies under load; every command is answered and
// the router reconnects through another node by itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startEtcd, startNatsServer, withFreshPorts, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { startLocalFleet, type LocalFleet } from '../../src/fleet/demo/local-fleet.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { fleetSkipReason, until } from './engines.js';
import { runLoad, tally } from './load.js';
import { packedRepository } from '../helpers/stack.js';

const skip = await fleetSkipReason();

describe.skipIf(skip !== undefined)('a fleet on a 3-node NATS cluster', () => {
  const dir = mkdtempSync(join('/dev/shm', 'wa-cluster-'));
  const servers: LocalServer[] = [];
  let fleet: LocalFleet;
  const rpcs: RouterRpc[] = [];
  const tokens = { admin: 'a'.repeat(40), client: 'c'.repeat(40) };

  beforeAll(async () => {
    // route ports are chosen ahead (each node names the others'): one taken by another process before its node binds
    // it means a new set of ports for a new cluster
    let attempt = 0;
    await withFreshPorts(true, async () => {
      attempt += 1;
      const routes = [await freePort(), await freePort(), await freePort()];
      try {
        for (let i = 0; i < 3; i += 1) {
          servers.push(await startNatsServer({ dir: join(dir, `n${i}-${attempt}`), cluster: { name: 'wa', port: routes[i]!, routes: routes.filter((_, j) => j !== i) } }));
        }
      } catch (error) {
        for (const s of servers.splice(0)) await s.stop();
        throw error;
      }
    });
    const etcd = await startEtcd({ dir: join(dir, 'etcd') });
    servers.push(etcd);
    fleet = await startLocalFleet({
      dir: join(dir, 'hosts'), repositoryDir: await packedRepository(), tokens, leaseTtl: '3s',
      engines: { nats: [servers[0]!.url], etcd: [etcd.url] },
      hosts: [
        { name: 'host-a' },
        { name: 'host-b', connectors: [{ type: 'utils', product: 'echo', versions: ['1.1'], config: { greeting: 'hi' } }] },
      ],
    });
    // host-b on another node than host-a: rewrite its servers and restart it there
    const b = fleet.host('host-b');
    await b.stop();
    const { readFile, writeFile } = await import('node:fs/promises');
    const config = JSON.parse(await readFile(b.configFile, 'utf8')) as { fleet: { nats: { servers: string[] } } };
    config.fleet.nats.servers = [servers[1]!.url];
    await writeFile(b.configFile, JSON.stringify(config));
    await b.start();
    const a = createRouterRpc({ address: fleet.host('host-a').router, token: tokens.client });
    rpcs.push(a);
    await until(async () => (await a.sendCommand({ command: 'ECHO', payload: '{}', timeout_ms: 2000 })).status === 'SUCCESS', 60_000, 'A reaches B through the cluster');
  }, 180_000);

  afterAll(async () => {
    for (const r of rpcs) r.close();
    await fleet?.close();
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('answers every command when the node host-a is connected to dies', async () => {
    const load = runLoad(rpcs[0]!, () => ({ command: 'SLOW', payload: JSON.stringify({ ms: 200 }), timeout_ms: 10_000 }), 6);
    await until(() => load.sent.filter((s) => s.reply?.status === 'SUCCESS').length >= 10, 60_000, 'load flows');
    servers[0]!.signal('SIGKILL');
    await servers[0]!.exited;
    const killedAt = Date.now();
    await until(() => load.sent.filter((s) => s.sentAt > killedAt && s.reply?.status === 'SUCCESS').length >= 10, 60_000, 'host-a reconnected through another node');
    const sent = await load.stop();
    expect(sent.filter((s) => s.error !== undefined || s.reply === undefined), JSON.stringify(tally(sent))).toEqual([]);
    for (const s of sent) if (s.reply!.status !== 'SUCCESS') expect(s.reply!.error, JSON.stringify(tally(sent))).toMatch(/^(TRANSPORT_LOST|HOST_LOST): /);
  }, 180_000);
});
