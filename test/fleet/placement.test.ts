// The fleet's desired state through real hosts: `fleet apply` places instances evenly, honours a selector, scales
// down by draining under load, refuses start/stop by hand, and removing a connector stops it everywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalFleet } from '../../src/fleet/demo/local-fleet.js';
import { fleetRpcs, fleetSkipReason, startFleetEngines, until, type FleetEngines } from './engines.js';
import { runLoad, tally } from './load.js';

const skip = await fleetSkipReason();

/** A desired-state file of utils/echo. */
const desired = (instances: number, extra = ''): string => [
  'connectors:',
  '  - type: utils',
  '    product: echo',
  '    versions: ["1.1"]',
  `    instances: ${instances}`,
  '    config: { greeting: hello }',
  ...(extra ? [extra] : []),
  '',
].join('\n');

describe.skipIf(skip !== undefined)('a fleet desired state placed over real hosts', () => {
  let engines: FleetEngines;
  let fleet: LocalFleet;
  const rpcs = fleetRpcs(() => engines, () => fleet);
  const rpc = rpcs.rpc;
  const apply = async (text: string, host = 'host-a'): Promise<{ status: string; error: string; payload: string }> =>
    rpc(host, true).sendCommand({ command: 'ADMIN_FLEET_APPLY', payload: JSON.stringify({ file: 'desired.yaml', text }), timeout_ms: 30_000 });
  /** READY instances of utils/echo per host, as the fleet's records say. */
  const readyByHost = async (): Promise<Record<string, string[]>> => {
    const status = (await (await fetch(`http://${fleet.host('host-a').ops}/api/v1/fleet`)).json()) as { hosts: Array<{ name: string; status: string; instances: Array<{ identifier: string; product: string; state: string }> }> };
    return Object.fromEntries(status.hosts.filter((h) => h.status === 'live').map((h) => [h.name, h.instances.filter((i) => i.product === 'utils/echo' && i.state === 'READY').map((i) => i.identifier).sort()]));
  };
  const counts = async (): Promise<string> => {
    const by = await readyByHost();
    return ['host-a', 'host-b', 'host-c'].map((h) => `${h}=${by[h]?.length ?? 0}`).join(' ');
  };

  beforeAll(async () => {
    engines = await startFleetEngines();
    fleet = await engines.fleet({
      leaseTtl: '3s',
      hosts: [
        { name: 'host-a', labels: { zone: 'eu-1' } },
        { name: 'host-b', labels: { zone: 'eu-1' } },
        { name: 'host-c', labels: { zone: 'us-1' } },
      ],
    });
  }, 180_000);

  afterAll(async () => {
    rpcs.close();
    await engines?.close();
  }, 180_000);

  it('places 6 instances over 3 hosts, 2 per host, each identifier once', async () => {
    const reply = await apply(desired(6));
    expect(reply.status, reply.error).toBe('SUCCESS');
    await until(async () => (await counts()) === 'host-a=2 host-b=2 host-c=2', 120_000, '2 READY per host');
    const all = Object.values(await readyByHost()).flat().sort();
    expect(all).toEqual([1, 2, 3, 4, 5, 6].map((n) => `utils-echo-1-${n}`).sort());
  }, 180_000);

  it('refuses ADMIN_START_WORKER and ADMIN_STOP_WORKER of a fleet-managed product with FLEET_MANAGED', async () => {
    for (const command of ['ADMIN_START_WORKER', 'ADMIN_STOP_WORKER']) {
      const reply = await rpc('host-b', true).sendCommand({ command, payload: JSON.stringify({ product: 'utils/echo' }), timeout_ms: 30_000 });
      expect(reply.status).toBe('FAIL');
      expect(reply.error).toMatch(/^FLEET_MANAGED: utils\/echo /);
    }
  });

  it('a selector moves them onto the labelled hosts', async () => {
    const reply = await apply(desired(4, '    hosts: { zone: eu-1 }'));
    expect(reply.status, reply.error).toBe('SUCCESS');
    await until(async () => (await counts()) === 'host-a=2 host-b=2 host-c=0', 120_000, '2 READY on each eu-1 host, none on host-c');
  }, 180_000);

  it('scaling down drains the highest identifiers under load and loses no command', async () => {
    const load = runLoad(rpc('host-c'), () => ({ command: 'ECHO', product: 'utils/echo', payload: '{"x":1}', timeout_ms: 20_000 }), 8);
    await until(() => load.sent.filter((s) => s.reply?.status === 'SUCCESS').length >= 50, 60_000, 'load flows');
    const reply = await apply(desired(2, '    hosts: { zone: eu-1 }'));
    expect(reply.status, reply.error).toBe('SUCCESS');
    await until(async () => Object.values(await readyByHost()).flat().length === 2, 120_000, '2 instances left');
    const sent = await load.stop();
    expect(tally(sent), JSON.stringify(sent.filter((x) => x.reply?.status !== 'SUCCESS').slice(0, 3))).toEqual({ SUCCESS: sent.length });
    expect(Object.values(await readyByHost()).flat().sort()).toEqual(['utils-echo-1-1', 'utils-echo-1-2']);
  }, 180_000);

  it('removing the connector from the file stops it everywhere', async () => {
    const reply = await apply('connectors: []\n');
    expect(reply.status, reply.error).toBe('SUCCESS');
    await until(async () => Object.values(await readyByHost()).flat().length === 0, 120_000, 'no instance left');
    const started = await rpc('host-b', true).sendCommand({ command: 'ADMIN_START_WORKER', payload: JSON.stringify({ product: 'utils/echo', version: '1.1', params: { greeting: 'x' } }), timeout_ms: 60_000 });
    expect(started.status, started.error).toBe('SUCCESS'); // no longer fleet-managed
  }, 180_000);
});
