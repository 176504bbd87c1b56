// Update modes with real workers: planned fires when the test moves the scheduler's clock, manual schedules nothing,
// failed versions are skipped until a newer one appears, ADMIN_SET_UPDATE_MODE refusals, modes kept in state.json.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/common/scheduler.js';
import { ManualClock } from '../helpers/clock.js';
import { startUpdateStack, type UpdateStack } from './harness.js';

const ID = 'tests-rolling-1';
const ROLLING = { type: 'tests', product: 'rolling', versions: ['1.0'], update: { mode: 'planned', at: '03:00' } };

describe('update modes (scheduler driven by the test)', () => {
  let t: UpdateStack;
  const clock = new ManualClock(new Date(2030, 0, 1, 0, 0, 30).getTime());
  const REF = { type: 'tests', product: 'rolling' };
  const nextCheck = (): string | null => t.admin.updates.modes.describe(REF)['nextCheck'] as string | null;
  const iso = (ms: number): string => new Date(ms).toISOString();
  // The next midnight after the clock's time, in local time.
  const midnight = (): number => new Date(clock.now()).setHours(24, 0, 0, 0);
  /** Moves the clock to the product's next check (its time has come); returns how many checks that fired. */
  const fire = (): number => {
    const next = nextCheck();
    if (next === null) return 0;
    clock.advance(Date.parse(next) - clock.now());
    return 1;
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'wa-upd-modes-'));
  const version = async (): Promise<{ version: string; pid: number; state: string }> => {
    const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Array<{ identifier: string; version: string; pid: number; state: string }> };
    return list.workers.find((w) => w.identifier === ID)!;
  };
  const updateEvents = (from: number) => t.events.slice(from).filter((e) => e.event.startsWith('UPDATE_'));

  beforeAll(async () => {
    t = await startUpdateStack({ connectors: [ROLLING], scheduler: createScheduler(clock), stateDir, timeouts: { start: '5s' } });
    await t.admin.startConfiguredConnectors();
  });
  afterAll(async () => {
    await t?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('planned mode from the config: one scheduled check, and the update happens when its time comes, not before', async () => {
    expect(nextCheck()).toBe(iso(new Date(2030, 0, 1, 3, 0).getTime()));
    expect(clock.waiting).toBe(1);
    await t.publish('1.1');
    expect((await version()).version).toBe('1.0');
    const from = t.events.length;
    expect(fire()).toBe(1);
    const done = await t.waitForEvent((e) => e === 'UPDATE_SUCCEEDED', 15_000, from);
    expect(done).toMatchObject({ identifier: ID, from: '1.0', to: '1.1', trigger: 'planned' });
    expect(await version()).toMatchObject({ version: '1.1', state: 'READY' });
  });

  it('a failed version is skipped by later planned checks until a newer one appears', async () => {
    const reply = await t.send('ADMIN_SET_UPDATE_MODE', { product: 'tests/rolling', mode: 'planned', at: '00:00' });
    expect(reply).toMatchObject({ status: 'SUCCESS', data: { mode: 'planned', at: '00:00', interval: null, nextCheck: iso(midnight()) } });
    expect(clock.waiting).toBe(1); // the 03:00 check was replaced, not added to
    await t.publish('1.2', { worker: 'bad' });
    const pid = (await version()).pid;
    let from = t.events.length;
    fire();
    expect(await t.waitForEvent((e) => e === 'UPDATE_FAILED', 15_000, from)).toMatchObject({ from: '1.1', to: '1.2', rolledBack: true, reason: 'COMMANDS_MISSING: SLOW' });
    from = t.events.length;
    fire();
    const skipped = await t.waitForEvent((e) => e === 'UPDATE_SKIPPED', 15_000, from);
    expect(skipped['reason']).toMatch(/skipping 1\.2: failed before/);
    expect(updateEvents(from).map((e) => e.event)).toEqual(['UPDATE_SKIPPED']);
    expect(await version()).toMatchObject({ version: '1.1', pid, state: 'READY' });
    await t.publish('1.3');
    from = t.events.length;
    fire();
    expect(await t.waitForEvent((e) => e === 'UPDATE_SUCCEEDED', 15_000, from)).toMatchObject({ from: '1.1', to: '1.3' });
  });

  it('manual mode schedules nothing: a published version stays unused', async () => {
    const reply = await t.send('ADMIN_SET_UPDATE_MODE', { product: 'tests/rolling', mode: 'manual' });
    expect(reply.data).toEqual({ mode: 'manual', at: null, interval: null, nextCheck: null });
    expect(clock.waiting).toBe(0); // nothing is scheduled, so nothing can fire
    await t.publish('1.4');
    expect(fire()).toBe(0);
    clock.advance(7 * 86_400_000);
    expect(clock.waiting).toBe(0);
    expect((await version()).version).toBe('1.3');
  });

  it('refuses bad modes with INVALID naming the field, and changes nothing', async () => {
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ mode: 'planned', at: '0 0 3 * * *' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: at: cron expression "0 0 3 \* \* \*" has 6 fields: seconds are not supported/],
      [{ mode: 'planned', at: '0 3 L * *' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: at: .*day of month field "L" uses "L" \(last day\), which is not supported/],
      [{ mode: 'planned', at: '24:00' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: at: time "24:00" is out of range/],
      [{ mode: 'planned' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: at: is required with mode planned/],
      [{ mode: 'auto', at: '03:00' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: at: is only used with mode planned/],
      [{ mode: 'auto', interval: 'soon' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: interval: "soon" is not a duration/],
      [{ mode: 'auto', interval: '5' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: interval: "5" has no unit/],
      [{ mode: 'auto', interval: 10 }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: interval: 10ms is too short/],
      [{ mode: 'auto', range: 'one' }, /^PAYLOAD_INVALID: ADMIN_SET_UPDATE_MODE: range: "one" is not a semver range/],
      [{ mode: 'sometimes' }, /mode/],
    ];
    for (const [payload, message] of refusals) {
      const reply = await t.send('ADMIN_SET_UPDATE_MODE', { product: 'tests/rolling', ...payload });
      expect(reply.status, JSON.stringify(payload)).toBe('INVALID');
      expect(reply.error).toMatch(message);
    }
    expect(nextCheck()).toBeNull();
    expect(clock.waiting).toBe(0);
  });

  it('auto mode is kept in state.json and restored by the next admin run', async () => {
    const reply = await t.send('ADMIN_SET_UPDATE_MODE', { product: 'tests/rolling', mode: 'auto', interval: '90s', range: '^1' });
    expect(reply.data).toEqual({ mode: 'auto', at: null, interval: '1.5m', nextCheck: iso(clock.now() + 90_000) });
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { updateModes: unknown };
    expect(state.updateModes).toEqual({ 'tests/rolling': { mode: 'auto', intervalMs: 90_000, range: '^1' } });
    await t.close();
    expect(clock.waiting).toBe(0); // the closed admin cancelled its check
    t = await startUpdateStack({ connectors: [ROLLING], scheduler: createScheduler(clock), stateDir });
    expect(nextCheck()).toBe(iso(clock.now() + 90_000));
    expect(clock.waiting).toBe(1);
    expect(t.admin.updates.modes.policyOf({ type: 'tests', product: 'rolling' })).toMatchObject({ mode: 'auto', range: '^1' });
  });
});
