// The fleet's configuration store on a real etcd: first writer wins, secret defaults never reach etcd, a copy
// without them is not used, and etcd out of reach leaves the host's own copy in charge.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Etcd3 } from 'etcd3';
import { createLogger } from '../../src/common/log.js';
import { fleetConfigurationStore } from '../../src/fleet/config-store.js';
import { startEtcd, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { createFileConfigurationStore } from '../../src/router/config-store.js';
import type { StoredConfiguration } from '../../src/proto/types.js';
import { fleetSkipReason } from './engines.js';

const skip = await fleetSkipReason();
const logger = createLogger('test', { level: 'silent' });
const key = { type: 'utils', product: 'echo', major: '1', minor: '1' };
const layers = (greeting: string): string => JSON.stringify([
  { layer: 'product', keys: [{ name: 'greeting', type: 'string', default: greeting }, { name: 'api_key', type: 'string', secret: true, default: 'default-secret-9d1c' }] },
]);
const stored = (greeting: string, withSecret = true): StoredConfiguration => ({
  key, found: true, pivot_json: '{"commands":[],"events":[]}', saved_at_ms: 1,
  layers_json: withSecret ? layers(greeting) : JSON.stringify([{ layer: 'product', keys: [{ name: 'greeting', type: 'string', default: greeting }] }]),
});

describe.skipIf(skip !== undefined)('fleet configuration store', () => {
  const dir = mkdtempSync(join('/dev/shm', 'wa-store-'));
  let etcd: LocalServer;
  let client: Etcd3;
  beforeAll(async () => {
    etcd = await startEtcd({ dir: join(dir, 'etcd') });
    client = new Etcd3({ hosts: etcd.url });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it('keeps the first writer in etcd and gives its copy to a host that has none', async () => {
    const a = fleetConfigurationStore(client, '/s1', createFileConfigurationStore(join(dir, 'a1')), logger);
    const b = fleetConfigurationStore(client, '/s1', createFileConfigurationStore(join(dir, 'b1')), logger);
    const c = fleetConfigurationStore(client, '/s1', createFileConfigurationStore(join(dir, 'c1')), logger);
    await a.save(stored('first', false));
    await b.save(stored('second', false));
    expect(JSON.parse((await c.get(key))!.layers_json)).toEqual(JSON.parse(stored('first', false).layers_json));
    expect(JSON.parse((await b.get(key))!.layers_json)).toEqual(JSON.parse(stored('second', false).layers_json)); // its own copy
  });

  it('never writes a secret default to etcd, and a host without its own copy does not use the stripped one', async () => {
    const a = fleetConfigurationStore(client, '/s2', createFileConfigurationStore(join(dir, 'a2')), logger);
    const b = fleetConfigurationStore(client, '/s2', createFileConfigurationStore(join(dir, 'b2')), logger);
    await a.save(stored('hello'));
    const all = JSON.stringify(await client.getAll().prefix('/s2/').strings());
    expect(all).toContain('greeting');
    expect(all).not.toContain('default-secret-9d1c');
    expect(await b.get(key)).toBeUndefined(); // its admin fetches the layers from the repository
    expect((await a.get(key))!.layers_json).toContain('default-secret-9d1c'); // the writer's own full copy
  });

  it('lets the host decide alone while etcd is out of reach', async () => {
    const away = new Etcd3({ hosts: 'http://127.0.0.1:1', dialTimeout: 200 });
    try {
      const a = fleetConfigurationStore(away, '/s3', createFileConfigurationStore(join(dir, 'a3')), logger);
      expect(await a.get(key)).toBeUndefined();
      await a.save(stored('offline', false));
      expect((await a.get(key))!.layers_json).toContain('offline');
    } finally {
      away.close();
    }
  }, 30_000);
});
