// A fleet rolling update through real hosts: 6 instances over 3 hosts, canary 1, two at a time, under load: 0 lost,
// 0 failed, every reply names its version; a version that cannot start fails its canary and nothing else moves; the
// coordinator killed after the first batch: the next one ends the rollout in a recorded state.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalFleet } from '../../src/fleet/demo/local-fleet.js';
import { publishVersion } from '../update/harness.js';
import { fleetRpcs, fleetSkipReason, startFleetEngines, until, type FleetEngines } from './engines.js';
import { runLoad, tally } from './load.js';

const skip = await fleetSkipReason();
const HOSTS = ['host-a', 'host-b', 'host-c'];

interface FleetView {
  coordinator: { host: string } | null;
  hosts: Array<{ name: string; status: string; instances: Array<{ identifier: string; product: string; version: string; state: string }> }>;
  rollouts?: Array<{ id: string; state: string; batch: number; to: string; instances: Record<string, { state: string }> }>;
}

describe.skipIf(skip !== undefined)('a fleet rolling update', () => {
  let engines: FleetEngines;
  let fleet: LocalFleet;
  let repo: string;
  const rpcs = fleetRpcs(() => engines, () => fleet);
  const rpc = rpcs.rpc;
  const view = async (host: string): Promise<FleetView | undefined> => {
    try {
      return (await (await fetch(`http://${fleet.host(host).ops}/api/v1/fleet`, { signal: AbortSignal.timeout(3000) })).json()) as FleetView;
    } catch {
      return undefined;
    }
  };
  /** READY tests/rolling instances fleet-wide, by version. */
  const versions = async (host = 'host-a'): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const h of (await view(host))?.hosts ?? []) {
      if (h.status !== 'live') continue;
      for (const i of h.instances) if (i.product === 'tests/rolling' && i.state === 'READY') out[i.version] = (out[i.version] ?? 0) + 1;
    }
    return out;
  };
  const update = (host: string, payload: Record<string, unknown>, timeoutMs = 300_000) =>
    rpc(host, true).sendCommand({ command: 'ADMIN_UPDATE', payload: JSON.stringify({ product: 'tests/rolling', ...payload }), timeout_ms: timeoutMs }, { deadlineMs: timeoutMs + 30_000 });

  beforeAll(async () => {
    repo = mkdtempSync(join(tmpdir(), 'wa-fleet-roll-'));
    engines = await startFleetEngines();
    cpSync(engines.repositoryDir, repo, { recursive: true });
    await publishVersion(repo, 'rolling', '1.1', 'good');
    fleet = await engines.fleet({ repositoryDir: repo, leaseTtl: '3s', reassignAfter: '8s', hosts: HOSTS.map((name) => ({ name })) });
    const applied = await rpc('host-a', true).sendCommand({
      command: 'ADMIN_FLEET_APPLY', timeout_ms: 30_000,
      payload: JSON.stringify({ file: 'desired.yaml', text: 'connectors:\n  - { type: tests, product: rolling, versions: ["^1"], instances: 6, update: { canary: 1, maxParallel: 2, minHealthy: 1s } }\n' }),
    });
    expect(applied.status, applied.error).toBe('SUCCESS');
    await until(async () => (await versions())['1.1'] === 6, 180_000, '6 instances READY on 1.1');
    await publishVersion(repo, 'rolling', '1.2', 'good');
    await publishVersion(repo, 'rolling', '1.3', 'bad');
  }, 300_000);

  afterAll(async () => {
    rpcs.close();
    await engines?.close();
  }, 180_000);

  it('rolls 6 instances to 1.2 (canary 1, two at a time) under load: 0 lost, 0 failed, every reply names its version', async () => {
    const load = runLoad(rpc('host-c'), () => ({ command: 'ECHO', product: 'tests/rolling', payload: '{"x":1}', timeout_ms: 20_000 }), 8);
    await until(() => load.sent.filter((s) => s.reply?.status === 'SUCCESS').length >= 50, 60_000, 'load flows');
    const reply = await update('host-b', { version: '1.2' });
    expect(reply.status, reply.error).toBe('SUCCESS');
    expect(JSON.parse(reply.payload)).toMatchObject({ from: '1.1', to: '1.2' });
    await until(async () => (await versions())['1.2'] === 6, 60_000, 'all on 1.2');
    const after = load.sent.length;
    await until(() => load.sent.length >= after + 50, 60_000, 'load after the rollout');
    const sent = await load.stop();
    expect(tally(sent)).toEqual({ SUCCESS: sent.length });
    for (const s of sent) expect(s.reply?.worker).toMatch(/^tests-rolling-1-[1-6]@1\.[12]$/);
    expect(sent.slice(-20).every((s) => s.reply?.worker.endsWith('@1.2'))).toBe(true);
    const rollout = (await view('host-a'))?.rollouts?.find((r) => r.to === '1.2');
    expect(rollout?.state).toBe('SUCCEEDED');
  }, 300_000);

  it('a version that cannot start fails its canary: nothing else moves, UPDATE_FAILED rolled back, 1.2 keeps serving', async () => {
    const reply = await update('host-a', { version: '1.3' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^UPDATE_FAILED: tests\/rolling 1\.2 → 1\.3 failed on host-[abc]: .*rolled back/);
    const rollout = (await view('host-a'))?.rollouts?.find((r) => r.to === '1.3');
    expect(rollout?.state).toBe('ROLLED_BACK');
    const touched = Object.values(rollout!.instances).filter((i) => i.state !== 'pending');
    expect(touched).toHaveLength(1); // the canary alone
    expect(await versions()).toEqual({ '1.2': 6 });
  }, 300_000);

  it('the coordinator killed after the first batch: the next coordinator ends the rollout in a recorded state', async () => {
    const coordinator = (await view('host-a'))!.coordinator!.host;
    const via = HOSTS.find((h) => h !== coordinator)!;
    const answer = update(via, { version: '1.1', minHealthy: '4s' });
    await until(async () => ((await view(via))?.rollouts?.find((r) => r.to === '1.1' && r.state !== 'SUCCEEDED')?.batch ?? 0) >= 1, 120_000, 'past the canary');
    fleet.host(coordinator).signal('SIGKILL');
    await fleet.host(coordinator).exited();
    const reply = await answer;
    const rollout = (await view(via))?.rollouts?.find((r) => r.to === '1.1');
    expect(['SUCCEEDED', 'ROLLED_BACK']).toContain(rollout?.state);
    expect(reply.status === 'SUCCESS' ? 'SUCCEEDED' : 'ROLLED_BACK').toBe(rollout?.state);
    expect((await view(via))?.coordinator?.host).not.toBe(coordinator);
    await fleet.host(coordinator).start();
  }, 300_000);
});
