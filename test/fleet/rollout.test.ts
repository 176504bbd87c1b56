// A fleet rolling update through real hosts: 6 instances over 3 hosts, canary 1, two at a time, under load: 0 lost,
// 0 failed, every reply names its version; a version that cannot start fails its canary and nothing else moves;
// ADMIN_ROLLBACK goes back fleet-wide; the coordinator killed after the first batch: the next one ends the rollout in a
// recorded state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetSkipReason, until } from './engines.js';
import { runLoad, tally } from './load.js';
import { HOSTS, startRollingFleet, type RollingFleet } from './rolling-fleet.js';

const skip = await fleetSkipReason();

describe.skipIf(skip !== undefined)('a fleet rolling update', () => {
  let f: RollingFleet;
  /** Once nothing failed is left in the reports: every line clean, on `version`. */
  const reportsClean = (version: string) => async (): Promise<boolean> => {
    const lines = await f.reports();
    return lines.length === 6 && lines.every((l) => l.version === version && l.error === null && l.failedVersion === null);
  };

  beforeAll(async () => {
    f = await startRollingFleet('{ canary: 1, maxParallel: 2, minHealthy: 1s, interval: 10m, range: "^1" }', [['1.2', 'good'], ['1.3', 'bad']]);
  }, 300_000);

  afterAll(async () => {
    await f?.close();
  }, 180_000);

  it('rolls 6 instances to 1.2 (canary 1, two at a time) under load: 0 lost, 0 failed, every reply names its version', async () => {
    const load = runLoad(f.rpc('host-c'), () => ({ command: 'ECHO', product: 'tests/rolling', payload: '{"x":1}', timeout_ms: 20_000 }), 8);
    await until(() => load.sent.filter((s) => s.reply?.status === 'SUCCESS').length >= 50, 60_000, 'load flows');
    const reply = await f.update('host-b', { version: '1.2' });
    expect(reply.status, reply.error).toBe('SUCCESS');
    expect(JSON.parse(reply.payload)).toMatchObject({ from: '1.1', to: '1.2' });
    await until(async () => (await f.versions())['1.2'] === 6, 60_000, 'all on 1.2');
    const after = load.sent.length;
    await until(() => load.sent.length >= after + 50, 60_000, 'load after the rollout');
    const sent = await load.stop();
    expect(tally(sent)).toEqual({ SUCCESS: sent.length });
    for (const s of sent) expect(s.reply?.worker).toMatch(/^tests-rolling-1-[1-6]@1\.[12]$/);
    expect(sent.slice(-20).every((s) => s.reply?.worker.endsWith('@1.2'))).toBe(true);
    expect((await f.rollout())?.state).toBe('SUCCEEDED');
  }, 300_000);

  it('a version that cannot start fails its canary: nothing else moves, UPDATE_FAILED rolled back, 1.2 keeps serving', async () => {
    const reply = await f.update('host-a', { version: '1.3' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toMatch(/^UPDATE_FAILED: tests\/rolling 1\.2 → 1\.3 failed on host-[abc]: .*rolled back/);
    const rollout = (await f.rollout())!;
    expect(rollout).toMatchObject({ to: '1.3', state: 'ROLLED_BACK', cause: 'failure' });
    const touched = Object.values(rollout.instances).filter((i) => i.state !== 'pending');
    expect(touched).toHaveLength(1); // the canary alone
    expect(await f.versions()).toEqual({ '1.2': 6 });
    expect((await f.running())?.failed).toEqual(['1.3']);
    // the canary's failed swap is over once it is assigned 1.2 again: its error leaves its host's report
    await until(reportsClean('1.2'), 30_000, 'no failed swap left in the reports');
  }, 300_000);

  it('ADMIN_ROLLBACK goes back fleet-wide; the override turns manual and keeps the desired interval and range', async () => {
    const reply = await f.rpc('host-c', true).sendCommand({ command: 'ADMIN_ROLLBACK', payload: JSON.stringify({ product: 'tests/rolling' }), timeout_ms: 300_000 }, { deadlineMs: 330_000 });
    expect(reply.status, reply.error).toBe('SUCCESS');
    expect(JSON.parse(reply.payload)).toMatchObject({ from: '1.2', to: '1.1' });
    expect(await f.rollout()).toMatchObject({ to: '1.1', state: 'SUCCEEDED', trigger: 'rollback' });
    expect(await f.running()).toMatchObject({ version: '1.1', previous: '1.2' });
    await until(async () => (await f.versions())['1.1'] === 6, 60_000, 'all on 1.1');
    await until(reportsClean('1.1'), 30_000, 'clean reports on 1.1');
    const got = await f.rpc('host-a', true).sendCommand({ command: 'ADMIN_FLEET_GET', payload: '{}', timeout_ms: 30_000 });
    expect(got.status, got.error).toBe('SUCCESS');
    const { overrides } = JSON.parse(got.payload) as { overrides: Record<string, { update: unknown; reason: string; by: string }> };
    expect(overrides['tests/rolling']).toMatchObject({ update: { mode: 'manual', intervalMs: 600_000, range: '^1' }, reason: 'ADMIN_ROLLBACK', by: 'admin@host-c' });
  }, 300_000);

  it('the coordinator killed after the first batch: the next coordinator ends the rollout in a recorded state', async () => {
    const coordinator = (await f.view('host-a'))!.coordinator!.host;
    const via = HOSTS.find((h) => h !== coordinator)!;
    const answer = f.update(via, { version: '1.2', minHealthy: '4s' });
    await until(async () => {
      const r = await f.rollout();
      return r?.to === '1.2' && r.state !== 'SUCCEEDED' && r.batch >= 1;
    }, 120_000, 'past the canary');
    f.fleet.host(coordinator).signal('SIGKILL');
    await f.fleet.host(coordinator).exited();
    const reply = await answer;
    const rollout = await f.rollout();
    expect(rollout?.to).toBe('1.2');
    expect(['SUCCEEDED', 'ROLLED_BACK']).toContain(rollout?.state);
    expect(reply.status === 'SUCCESS' ? 'SUCCEEDED' : 'ROLLED_BACK').toBe(rollout?.state);
    expect((await f.view(via))?.coordinator?.host).not.toBe(coordinator);
    await f.fleet.host(coordinator).start();
  }, 300_000);
});
