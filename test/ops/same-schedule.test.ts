// A planned update and an ops policy on the same expression run on the admin's one scheduler: the same next time,
// through their real surfaces (ADMIN_SET_UPDATE_MODE, /api/v1/status), and the same following time once both fired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendAdmin } from '../helpers/admin-events.js';
import { ECHO_CONNECTOR, eventually, postPolicies, startOpsStack, status, type OpsStack } from './helpers.js';

let t: OpsStack;
beforeAll(async () => {
  // The clock starts at 2030-01-01 00:00:30 local, a Tuesday.
  t = await startOpsStack({ connectors: [{ ...ECHO_CONNECTOR, update: { mode: 'planned', at: '04:30' } }] });
});
afterAll(async () => {
  await t?.close();
});

const policy = (name: string, schedule: string): string => `policies:
  ${name}:
    config:
      package: utils/echo@^1
      command: ECHO
      schedule: "${schedule}"
    scope: { text: hi }
`;
// The update mode's `at`, set again (same value) to read its nextCheck from the ADMIN_SET_UPDATE_MODE reply.
let current = '04:30';
const nextRun = async (name: string): Promise<unknown> => (await status(t)).policies.find((p) => p['name'] === name)?.['next_run'];
const nextCheck = async (): Promise<unknown> => (await sendAdmin(t.rpc, 'ADMIN_SET_UPDATE_MODE', { product: 'utils/echo', mode: 'planned', at: current })).data;
const iso = (h: number, m: number): string => new Date(2030, 0, 1, h, m).toISOString();

describe('one scheduler for update checks and policies', () => {
  it('`at: HH:MM` and the policy on its cron form have the same next time', async () => {
    expect((await postPolicies(t, policy('daily', '30 4 * * *'))).status).toBe(201);
    expect(await nextRun('daily')).toBe(iso(4, 30));
    expect(await nextCheck()).toMatchObject({ mode: 'planned', at: '04:30', nextCheck: iso(4, 30) });
  });

  it('a cron expression: the same next time, and after both fired, the same following time', async () => {
    current = '*/20 3-5 * * 1-5';
    expect(await nextCheck()).toMatchObject({ at: current, nextCheck: iso(3, 0) });
    expect((await postPolicies(t, policy('weekday', current))).status).toBe(201);
    expect(await nextRun('weekday')).toBe(iso(3, 0));
    // Three schedules wait on the clock: the update check and the two policies.
    await eventually(async () => (t.clock.waiting === 3 ? true : undefined), 10_000, 'three schedules waiting');
    t.clock.advance(new Date(2030, 0, 1, 3, 0).getTime() - t.clock.now());
    const ran = await eventually(async () => {
      const runs = (await status(t)).policies.find((p) => p['name'] === 'weekday')?.['runs'] as Array<{ at: string }> | undefined;
      return runs?.at(-1)?.at === iso(3, 0) ? runs : undefined;
    }, 15_000, 'the weekday policy run at 03:00');
    expect(ran).toHaveLength(1);
    await eventually(async () => (t.clock.waiting === 3 ? true : undefined), 15_000, 'both fired and waiting again');
    const check = t.stack.admin.updates.modes.describe({ type: 'utils', product: 'echo' })['nextCheck'];
    expect(check).toBe(iso(3, 20));
    expect(await nextRun('weekday')).toBe(iso(3, 20));
    expect(await nextRun('daily')).toBe(iso(4, 30));
  });
});
