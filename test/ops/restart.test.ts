// Policies survive an admin restart (state.json): instances back, runs kept, schedules resumed, one-shots not sent again.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive } from '../helpers/stack.js';
import { ManualClock } from '../helpers/clock.js';
import { ECHO_CONNECTOR, eventually, http, postPolicies, startOpsStack, status, type OpsStack } from './helpers.js';

const stateDir = mkdtempSync(join(tmpdir(), 'wa-ops-restart-'));
const started: OpsStack[] = [];
afterAll(async () => {
  for (const s of started) await s.close().catch(() => undefined);
  rmSync(stateDir, { recursive: true, force: true });
});

const YAML = `policies:
  keep-once:
    config: { package: utils/echo@^1, command: ECHO, greeting: hello }
    scope: { text: once }
  keep-cron:
    config: { package: "utils/echo@1.x", schedule: "*/5 * * * *", command: ECHO, greeting: hi }
    scope: { text: cron }
`;

async function start(): Promise<OpsStack> {
  const t = await startOpsStack({ stateDir, connectors: [ECHO_CONNECTOR], clock: new ManualClock(new Date(2030, 0, 1, 0, 0, 30).getTime()) });
  started.push(t);
  return t;
}

const runsOf = async (t: OpsStack, name: string): Promise<Array<{ at: string; status: string }>> =>
  ((await status(t)).policies.find((p) => p['name'] === name)?.['runs'] ?? []) as Array<{ at: string; status: string }>;

async function fireCron(t: OpsStack, count: number): Promise<void> {
  await eventually(async () => (t.clock.waiting === 1 ? true : undefined), 10_000, 'the scheduler waiting');
  t.clock.advance(5 * 60_000);
  await eventually(async () => ((await runsOf(t, 'keep-cron')).length === count ? true : undefined), 10_000, `cron run ${count}`);
}

describe('policies across an admin restart', () => {
  it('come back from state.json with their instances, runs and schedules; a one-shot policy is not sent again', async () => {
    const first = await start();
    expect((await postPolicies(first, YAML)).status).toBe(201);
    await eventually(async () => ((await runsOf(first, 'keep-once')).length === 1 ? true : undefined), 10_000, 'the one-shot run');
    await fireCron(first, 1);
    const oldPids = (await status(first)).workers.filter((w) => String(w['identifier']).startsWith('keep-')).map((w) => w['pid'] as number);
    expect(oldPids).toHaveLength(2);
    await first.close();
    expect(oldPids.some(alive)).toBe(false);
    const stored = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { policies: Array<Record<string, unknown>> };
    expect(stored.policies.map((p) => p['name']).sort()).toEqual(['keep-cron', 'keep-once']);
    expect(stored.policies.find((p) => p['name'] === 'keep-once')).toMatchObject({ fired: true, values: { greeting: 'hello' }, scope: { text: 'once' } });

    const second = await start();
    await second.stack.ops.restored;
    const after = await status(second);
    expect(after.policies).toEqual([
      expect.objectContaining({ name: 'keep-cron', package: 'utils/echo@1.x', schedule: '*/5 * * * *', state: 'ACTIVE', runs: [expect.objectContaining({ status: 'SUCCESS' })] }),
      expect.objectContaining({ name: 'keep-once', package: 'utils/echo@^1', schedule: null, state: 'ACTIVE', runs: [expect.objectContaining({ status: 'SUCCESS' })] }),
    ]);
    const workers = await eventually(async () => {
      const ws = (await status(second)).workers.filter((w) => String(w['identifier']).startsWith('keep-'));
      return ws.length === 2 && ws.every((w) => w['state'] === 'READY') ? ws : undefined;
    }, 15_000, 'both policy instances READY');
    expect(workers.map((w) => w['pid'])).not.toContain(oldPids[0]);
    const echo = await second.rpc.sendCommand({ command: 'ECHO', payload: '{"n":1}', timeout_ms: 5_000, target: 'keep-once' });
    expect(echo).toMatchObject({ status: 'SUCCESS', worker: 'keep-once@1.1' });

    await fireCron(second, 2); // the schedule resumed…
    expect(await runsOf(second, 'keep-once')).toHaveLength(1); // …and the one-shot did not send again
    expect((await postPolicies(second, YAML)).status).toBe(409);
    expect((await http(second.base, 'DELETE', '/api/v1/policies/keep-once', { token: second.token })).status).toBe(200);
    await second.close();
    const last = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { policies: Array<{ name: string }>; instances: Array<{ identifier: string }> };
    expect(last.policies.map((p) => p.name)).toEqual(['keep-cron']);
    expect(last.instances.map((i) => i.identifier)).not.toContain('keep-once');
  });
});
