// Policies in a fleet of real host processes (docs/fleet.md, policies): a policy POSTed to one host is registered
// fleet-wide, the coordinator (another host) writes its tick, and the policy's host runs it once in the whole fleet
// with uuid POLICY-{tick ms}; the name is refused on the other host; DELETE gives it up.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalFleet } from '../../src/fleet/demo/local-fleet.js';
import { fleetKeys } from '../../src/fleet/keys.js';
import { fleetRpcs, fleetSkipReason, startFleetEngines, until, type FleetEngines } from './engines.js';
import { NIGHTLY_POLICY, type PolicyRun } from './policy-fixture.js';

const skip = await fleetSkipReason();
const HOSTS = ['host-a', 'host-b'];
const PREFIX = `/wa-policies-test-${process.pid}`;
const keys = fleetKeys(PREFIX);


describe.skipIf(skip !== undefined)('policies in a fleet', () => {
  let engines: FleetEngines;
  let fleet: LocalFleet;
  let etcd: Etcd3;
  const rpcs = fleetRpcs(() => engines, () => fleet);

  beforeAll(async () => {
    engines = await startFleetEngines();
    etcd = new Etcd3({ hosts: engines.etcd.url });
    fleet = await engines.fleet({ prefix: PREFIX, leaseTtl: '3s', reassignAfter: '8s', hosts: HOSTS.map((name) => ({ name })) });
  }, 240_000);

  afterAll(async () => {
    rpcs.close();
    etcd?.close();
    await engines?.close();
  }, 120_000);

  const ops = async (host: string, method: string, path: string, body?: string): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`http://${fleet.host(host).ops}${path}`, {
      method, signal: AbortSignal.timeout(10_000),
      headers: { authorization: `Bearer ${engines.tokens.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/x-yaml' }) },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: await res.json() };
  };
  const policies = async (host: string): Promise<Array<{ name: string; runs: PolicyRun[] }>> =>
    ((await ops(host, 'GET', '/api/v1/status')).body as { policies: Array<{ name: string; runs: PolicyRun[] }> }).policies;
  const coordinator = async (): Promise<string | undefined> =>
    ((await ops('host-a', 'GET', '/api/v1/fleet')).body as { coordinator: { host: string } | null }).coordinator?.host;
  const read = async <T>(key: string): Promise<T | null> => {
    const text = await etcd.get(key).string();
    return text === null ? null : (JSON.parse(text) as T);
  };

  it('a policy fires once per schedule time in the whole fleet, on its host, with uuid POLICY-{tick ms}', async () => {
    await until(async () => (await coordinator()) !== undefined, 60_000, 'a coordinator');
    // the policy goes to the host that does not coordinate: its tick is written on one host and run on another
    const elected = (await coordinator())!;
    const host = HOSTS.find((h) => h !== elected)!;
    const posted = await ops(host, 'POST', '/api/v1/policies', NIGHTLY_POLICY);
    expect(posted.status, JSON.stringify(posted.body)).toBe(201);
    expect(await read(keys.policies('nightly'))).toMatchObject({ host, schedule: '* * * * *' });
    expect(await ops(elected, 'POST', '/api/v1/policies', NIGHTLY_POLICY)).toEqual({ status: 409, body: { detail: "policy 'nightly' already exists" } });

    // the next minute (or the one after, when the instance was still starting at the first)
    let runs: PolicyRun[] = [];
    await until(async () => (runs = (await policies(host)).find((p) => p.name === 'nightly')?.runs ?? []).length > 0, 150_000, 'the first tick run');
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(run).toMatchObject({ status: 'SUCCESS', uuid: expect.stringMatching(/^nightly-\d+$/) });
    const tick = Number(run!.uuid!.slice('nightly-'.length));
    expect(tick % 60_000).toBe(0);
    expect(await read(keys.ticks('nightly'))).toMatchObject({ tick, uuid: run!.uuid });
    expect(await read(`${PREFIX}/uuids/${run!.uuid!}`)).toMatchObject({ state: 'done', host });

    // exactly one run in the whole fleet: the worker's reply to the tick says TICK number 1, a TICK now is number 2,
    // and the other host has no such policy
    const dir = join(fleet.host(host).stateDir, 'dry-run', 'nightly');
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'))).toMatchObject({ status: 'SUCCESS', payload: { runs: 1 } });
    const direct = await rpcs.rpc(elected, true).sendCommand({ command: 'TICK', target: 'nightly', payload: '{}', timeout_ms: 20_000 });
    expect(direct.status, direct.error).toBe('SUCCESS');
    // (seconds after a tick: the next one is most of a minute away)
    expect((JSON.parse(direct.payload) as { runs: number }).runs).toBe(2);
    expect(await policies(elected)).toEqual([]);

    expect(await ops(host, 'DELETE', '/api/v1/policies/nightly')).toEqual({ status: 200, body: { detail: "policy 'nightly' was deleted" } });
    expect(await read(keys.policies('nightly'))).toBeNull();
    expect(await read(keys.ticks('nightly'))).toBeNull();
  }, 240_000);
});
