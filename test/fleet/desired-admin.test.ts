// The desired state's admin commands through a real router and admin, on a real etcd: NOT_IN_FLEET on a single host;
// once the admin has the fleet's handlers, apply (secrets refused by the pivot's keys, FLEET_APPLIED, idempotent), get,
// an override by ADMIN_SET_UPDATE_MODE, cordons; and the `worker-admin fleet` client commands against it.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productKey } from '../../src/common/names.js';
import { desiredHandlers } from '../../src/fleet/desired/handlers.js';
import { repositorySecretKeys } from '../../src/fleet/desired/secrets.js';
import { DesiredStore } from '../../src/fleet/desired/store.js';
import { findBinary, startEtcd, type LocalServer } from '../../src/fleet/engines/local-servers.js';
import { cli } from '../helpers/publish.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const skip = (await findBinary('etcd')) ? undefined : 'desired-state admin tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

const PREFIX = '/wa-desired-admin';
const ECHO = (secret: string, instances = 6): string => `connectors:
  - type: utils
    product: echo
    versions: ["^1"]
    instances: ${instances}
    config:
      greeting: hello
      api_key: ${secret}
`;

describe.skipIf(skip !== undefined)('desired state through the admin', () => {
  const dir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', 'wa-desired-admin-'));
  let etcd: LocalServer;
  let client: Etcd3;
  let t: TestStack;
  const managed = new Set<string>();
  beforeAll(async () => {
    etcd = await startEtcd({ dir: join(dir, 'etcd') });
    client = new Etcd3({ hosts: etcd.url });
    t = await startTestStack({ stateDir: join(dir, 'host') });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    client?.close();
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const history = async (): Promise<unknown[]> => Object.values(await client.getAll().prefix(`${PREFIX}/history/`).json());

  it('answers FAIL NOT_IN_FLEET on a single host', async () => {
    for (const [command, payload] of [['ADMIN_FLEET_GET', {}], ['ADMIN_FLEET_APPLY', { file: 'd.yaml', text: 'connectors: []\n' }], ['ADMIN_FLEET_CORDON', { host: 'host-b', mode: 'drain' }]] as const) {
      const reply = await t.send(command, payload);
      expect(reply.status, command).toBe('FAIL');
      expect(reply.error).toMatch(/^NOT_IN_FLEET: ADMIN_FLEET_\w+ acts on a fleet, and this host is not in one/);
    }
    const cliReply = await cli(['fleet', 'get', '--state-dir', t.stateDir]);
    expect(cliReply.exitCode).toBe(1);
    expect(cliReply.stderr).toContain('worker-admin fleet get: NOT_IN_FLEET: ');
  });

  it('refuses a literal secret naming the line and key, writes ${VAR}, publishes FLEET_APPLIED once', async () => {
    const store = new DesiredStore({ client, prefix: PREFIX });
    t.stack.admin.useFleet({
      host: 'host-a',
      managed: (ref) => managed.has(productKey(ref)),
      handlers: desiredHandlers({ store, host: 'host-a', secretKeys: repositorySecretKeys(t.stack.admin.context.repository) }),
    });
    const literal = await t.send('ADMIN_FLEET_APPLY', { file: 'desired.yaml', text: ECHO('sk-live-123') });
    expect(literal.status).toBe('FAIL');
    expect(literal.error).toBe('CONFIG_INVALID: desired.yaml:8: connectors[0].config.api_key: is secret in utils/echo: write it as a ${VAR} reference (each host resolves it from its own environment), never as a value');
    const exact = await t.send('ADMIN_FLEET_APPLY', { file: 'desired.yaml', text: ECHO('sk-live-123').replace('"^1"', '"1.0"') });
    expect(exact.error).toMatch(/^CONFIG_INVALID: desired\.yaml:8: connectors\[0\]\.config\.api_key: is secret in utils\/echo/);
    expect(await client.getAll().prefix(`${PREFIX}/`).keys()).toEqual([]);

    const bad = await t.send('ADMIN_FLEET_APPLY', { file: 'desired.yaml', text: 'connectors:\n  - type: utils\n    product: echo\n    instances: -1\n' });
    expect(bad.error).toBe('CONFIG_INVALID: desired.yaml:4: connectors[0].instances: must be an integer ≥ 0, got number -1');
    const unknown = await t.send('ADMIN_FLEET_APPLY', { file: 'desired.yaml', text: 'connectors:\n  - { type: utils, product: echo, versions: ["^9"], config: { greeting: hi } }\n' });
    expect(unknown.error).toMatch(/^VERSION_NOT_FOUND: connectors\[0\] \(utils\/echo\): its secret keys cannot be checked: /);

    const text = ECHO('${ECHO_API_KEY}');
    const from = t.events.length;
    const applied = await t.send('ADMIN_FLEET_APPLY', { file: 'desired.yaml', text, by: 'alice@laptop' });
    expect(applied.status, applied.error).toBe('SUCCESS');
    expect(applied.data).toEqual({ changes: [{ op: '+', product: 'utils/echo', field: 'instances', to: '6' }], applied: true });
    managed.add('utils/echo');
    const event = await t.waitForEvent((e) => e.event === 'FLEET_APPLIED', 20_000, from);
    expect(event).toEqual({
      host: 'host-a', by: 'alice@laptop', file: 'desired.yaml', digest: createHash('sha256').update(text).digest('hex'),
      changes: [{ op: '+', product: 'utils/echo', field: 'instances', to: '6' }],
    });
    const again = await t.send('ADMIN_FLEET_APPLY', { file: 'other-name.yaml', text });
    expect(again.data).toEqual({ changes: [], applied: false });
    expect(await history()).toHaveLength(1);

    const got = await t.send('ADMIN_FLEET_GET', {});
    expect(got.data).toMatchObject({ connectors: [{ type: 'utils', product: 'echo', instances: 6, config: { greeting: 'hello', api_key: '${ECHO_API_KEY}' }, applied: { by: 'alice@laptop', file: 'desired.yaml' } }], overrides: {} });
  });

  it('ADMIN_SET_UPDATE_MODE of a managed product writes its override; ADMIN_FLEET_CORDON needs a host the fleet has seen', async () => {
    const mode = await t.send('ADMIN_SET_UPDATE_MODE', { product: 'utils/echo', mode: 'auto', interval: '30s' });
    expect(mode.status, mode.error).toBe('SUCCESS');
    expect(mode.data).toEqual({ mode: 'auto', at: null, interval: '30s', nextCheck: null });
    expect((await t.send('ADMIN_FLEET_GET', {})).data).toMatchObject({ overrides: { 'utils/echo': { update: { mode: 'auto', intervalMs: 30_000 }, by: 'admin@host-a', reason: 'ADMIN_SET_UPDATE_MODE' } } });
    const invalid = await t.send('ADMIN_SET_UPDATE_MODE', { product: 'utils/echo', mode: 'planned' });
    expect(invalid.status).toBe('INVALID');

    const unseen = await t.send('ADMIN_FLEET_CORDON', { host: 'host-b', mode: 'cordon' });
    expect(unseen.error).toBe('NOT_FOUND: host-b has never joined this fleet: no host of that name to cordon');
    await client.put(`${PREFIX}/seen/host-b`).value('{}');
    expect((await t.send('ADMIN_FLEET_CORDON', { host: 'host-b', mode: 'cordon' })).data).toEqual({ host: 'host-b', mode: 'cordon', changed: true });
    expect(JSON.parse((await client.get(`${PREFIX}/cordons/host-b`).string())!)).toMatchObject({ mode: 'cordon', by: 'admin@host-a' });
  });

  it('`worker-admin fleet apply|get|drain|uncordon` print what they did and exit 0, or 1 with the reason', async () => {
    const file = join(dir, 'desired.yaml');
    const state = ['--state-dir', t.stateDir];
    writeFileSync(file, 'connectors:\n  - type: utils\n    product: echo\n    instances: many\n');
    const local = await cli(['fleet', 'apply', file, ...state]);
    expect(local.exitCode).toBe(1);
    expect(local.stderr).toBe(`worker-admin fleet apply: CONFIG_INVALID: ${file}:4: connectors[0].instances: must be an integer ≥ 0, got string "many"`);

    writeFileSync(file, `${ECHO('${ECHO_API_KEY}', 3)}  - type: mail\n    product: smtp\n`);
    const dry = await cli(['fleet', 'apply', file, '--dry-run', ...state]);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('+ mail/smtp instances 1\n~ utils/echo instances 6 → 3\ndry run: 2 changes, nothing written');
    const applied = await cli(['fleet', 'apply', file, '--reset-overrides', ...state]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toBe(`+ mail/smtp instances 1\n~ utils/echo instances 6 → 3\n- utils/echo override\napplied ${file}: 3 changes`);
    expect((await cli(['fleet', 'apply', file, ...state])).stdout).toBe(`no change: the fleet's desired state is already ${file}`);

    const yaml = await cli(['fleet', 'get', ...state]);
    expect(yaml.exitCode).toBe(0);
    expect(yaml.stdout).toContain('  - type: mail\n    product: smtp\n    versions:\n      - latest\n    instances: 1\n');
    expect(yaml.stdout).toContain('      api_key: ${ECHO_API_KEY}\n');
    expect(yaml.stdout).not.toContain('overrides:');
    const json = await cli(['fleet', 'get', '--json', ...state]);
    const got = JSON.parse(json.stdout) as { connectors: Array<{ product: string; applied: { by: string } }> };
    expect(got.connectors.map((c) => c.product)).toEqual(['smtp', 'echo']);
    expect(got.connectors[0]!.applied.by).toMatch(/@/);

    const drain = await cli(['fleet', 'drain', 'host-b', ...state]);
    expect(drain.exitCode, drain.stderr).toBe(0);
    expect(drain.stdout).toMatch(/^host-b draining: /);
    expect((await cli(['fleet', 'uncordon', 'host-b', ...state])).stdout).toMatch(/^host-b uncordoned/);
    expect((await cli(['fleet', 'uncordon', 'host-b', ...state])).stdout).toBe('host-b was not cordoned');
    const unseen = await cli(['fleet', 'cordon', 'host-z', ...state]);
    expect(unseen.exitCode).toBe(1);
    expect(unseen.stderr).toBe('worker-admin fleet cordon: NOT_FOUND: host-z has never joined this fleet: no host of that name to cordon');
    expect((await cli(['fleet', 'cordon', 'Host_Z', ...state])).exitCode).toBe(2);
  });
});
