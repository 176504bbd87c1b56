// Fleet rollouts on a real etcd, driven by the coordinator's real pass (placement, then the runner) under a test clock,
// with hosts simulated by the reports they would write: canary then batches, failures rolled back, a new coordinator
// resuming, pause / resume / abort, requests queued per product, and admins answered from the record.
import type { Etcd3 } from 'etcd3';
import { beforeEach, describe, expect, it } from 'vitest';
import { findBinary } from '../../src/fleet/engines/local-servers.js';
import { isTerminal } from '../../src/fleet/rollout/machine.js';
import type { HostReport } from '../../src/fleet/placement/types.js';
import type { RolloutRecord, RolloutState } from '../../src/fleet/rollout/types.js';
import { freshFleetEachTest, type RolloutFleet } from './rollout-harness.js';

const skip = (await findBinary('etcd')) ? undefined : 'rollout runner tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

const ECHO = Array.from({ length: 6 }, (_, i) => `utils-echo-1-${i + 1}`);

interface Step {
  state: RolloutState | undefined;
  batch: number;
  /** Instances assigned the rollout's target. */
  onTarget: number;
  record: RolloutRecord | undefined;
}

describe.skipIf(skip !== undefined)('fleet rollout runner', () => {
  const t = freshFleetEachTest('rollout');
  let fleet: RolloutFleet;
  let client: Etcd3;
  beforeEach(async () => {
    ({ fleet, client } = t);
    expect(await fleet.on('1.2')).toBe(6);
  });

  /** Passes (each followed by the hosts converging, then the clock moving on) until `done`; the record after each pass. */
  async function drive(target: string, done: (r: RolloutRecord | undefined) => boolean, options: { stepMs?: number; max?: number } = {}): Promise<Step[]> {
    const steps: Step[] = [];
    for (let i = 0; i < (options.max ?? 60); i += 1) {
      await fleet.pass();
      const record = await fleet.record();
      steps.push({ state: record?.state, batch: record?.batch ?? -1, onTarget: await fleet.on(target), record });
      if (done(record)) return steps;
      await fleet.converge();
      fleet.now += options.stepMs ?? 5000;
    }
    throw new Error(`not done after ${options.max ?? 60} passes: ${JSON.stringify(steps.at(-1)?.record)}`);
  }

  const ended = (r: RolloutRecord | undefined): boolean => r !== undefined && isTerminal(r.state);
  /** The distinct (state, batch, instances on target) a rollout went through. */
  const phases = (steps: Step[]): string[] => [...new Set(steps.map((s) => `${s.state} ${s.batch} ${s.onTarget}`))];

  it('moves the canary first, then batches of maxParallel, each after the last stayed READY for minHealthy', async () => {
    await fleet.request('q1', { canary: 1, maxParallel: 2, minHealthyMs: 10_000 });
    const steps = await drive('1.3', ended);
    expect(phases(steps)).toEqual(['CANARY 0 1', 'BATCH 1 3', 'BATCH 2 5', 'BATCH 3 6', 'SUCCEEDED 3 6']);
    const final = steps.at(-1)!.record!;
    expect(final.batches).toEqual([[ECHO[0]], [ECHO[1], ECHO[2]], [ECHO[3], ECHO[4]], [ECHO[5]]]);
    // a batch began only once every instance of the one before had been READY for minHealthy
    for (let i = 1; i < steps.length; i += 1) {
      const [before, after] = [steps[i - 1]!.record!, steps[i]!.record!];
      if (after.batch === before.batch || after.state === 'SUCCEEDED') continue;
      for (const id of before.batches[before.batch]!) {
        const readyAt = after.instances[id]!.readyAt!;
        expect(after.batchStartedAt! - readyAt, id).toBeGreaterThanOrEqual(10_000);
      }
    }
    expect(Object.values(final.instances).every((i) => i.state === 'healthy' && i.to === '1.3' && i.from === '1.2')).toBe(true);
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.3', previous: '1.2', failed: [] });
    // the request is answered in the record's transaction, for its admin to reply with; the history keeps the record
    expect((await fleet.requests()).get('q1')!.result).toEqual({
      state: 'SUCCEEDED', from: '1.2', to: '1.3', instances: ECHO, reason: null, host: null, cause: null, rolloutId: final.id, at: final.endedAt,
    });
    expect(await fleet.history()).toEqual([final]);
    expect(fleet.names()).toEqual(['UPDATE_STARTED', 'UPDATE_SUCCEEDED']);
    expect(fleet.events[1]!.payload).toMatchObject({ product: 'utils/echo', version: '1.3', from: '1.2', to: '1.3', rolloutId: final.id, trigger: 'command' });
    // placement, run again without a rollout in progress, keeps every instance on the new version
    await fleet.pass();
    expect(await fleet.on('1.3')).toBe(6);
  });

  it('a canary that fails leaves every other instance untouched, is put back, and marks the version failed', async () => {
    fleet.broken.set('1.3', 'crash');
    await fleet.request('q1', { canary: 1, maxParallel: 2, minHealthyMs: 10_000 });
    const steps = await drive('1.3', ended);
    expect(Math.max(...steps.map((s) => s.onTarget))).toBe(1);
    const final = steps.at(-1)!.record!;
    expect(final).toMatchObject({ state: 'ROLLED_BACK', cause: 'failure', host: final.instances[ECHO[0]!]!.host });
    expect(final.reason).toContain(`${ECHO[0]} is FAILED on 1.3`);
    expect(Object.entries(final.instances).filter(([, i]) => i.state !== 'pending').map(([id, i]) => [id, i.state])).toEqual([[ECHO[0], 'reverted']]);
    expect(await fleet.on('1.2')).toBe(6);
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.2', failed: ['1.3'] });
    expect(fleet.names()).toEqual(['UPDATE_STARTED', 'UPDATE_FAILED']);
    expect(fleet.events[1]!.payload).toMatchObject({ version: '1.3', from: '1.2', to: '1.3', rolledBack: true, host: final.host, reason: final.reason });
    // an automatic check skips the failed version; an explicit one may retry it
    expect((await fleet.requests()).get('q1')!.result).toMatchObject({ state: 'ROLLED_BACK', cause: 'failure', host: final.host, reason: final.reason });
    await fleet.request('auto1', { trigger: 'auto' });
    await fleet.pass();
    expect((await fleet.record())!.id).toBe(final.id);
    expect([...(await fleet.requests()).keys()]).toEqual(['q1']); // no one follows an automatic check: deleted
  });

  it('a batch whose swap fails on a host (the old version keeps serving) rolls back the whole batch', async () => {
    fleet.broken.set('1.3', 'swap-fails');
    await fleet.request('q1', { canary: 0, maxParallel: 2, minHealthyMs: 0 });
    const final = (await drive('1.3', ended)).at(-1)!.record!;
    expect(final.state).toBe('ROLLED_BACK');
    expect(final.reason).toMatch(/START_TIMEOUT/);
    expect(Object.values(final.instances).filter((i) => i.state === 'reverted')).toHaveLength(2);
    expect(await fleet.on('1.2')).toBe(6);
  });

  it('fails a batch whose instance restarts, whose host is lost, or that is not healthy in time', async () => {
    fleet.broken.set('1.3', 'restarts');
    await fleet.request('q1', { canary: 1, minHealthyMs: 10_000 });
    const restarted = (await drive('1.3', ended)).at(-1)!.record!;
    expect(restarted.reason).toMatch(/restarted on 1\.3/);

    fleet.broken.set('1.3', 'stall');
    await fleet.request('q2', { version: '1.3', canary: 1, minHealthyMs: 10_000 });
    const started = fleet.now;
    const stalled = (await drive('1.3', ended, { stepMs: 10_000 })).at(-1)!.record!;
    expect(stalled.reason).toMatch(/was not READY on 1\.3 for 10 s within 60 s/);
    expect(fleet.now - started).toBeGreaterThan(60_000); // startTimeout 20 s + minHealthy 10 s + 30 s

    fleet.broken.clear();
    await fleet.request('q3', { version: '1.3', canary: 2, minHealthyMs: 60_000 });
    await drive('1.3', (r) => r?.state === 'CANARY' && Object.values(r.instances).some((i) => i.readyAt !== null));
    const canaryHost = (await fleet.record())!.instances[ECHO[0]!]!.host;
    await fleet.lose(canaryHost);
    const lost = (await drive('1.3', ended)).at(-1)!.record!;
    expect(lost).toMatchObject({ state: 'ROLLED_BACK', host: canaryHost });
    expect(lost.reason).toBe(`${canaryHost} was lost while ${ECHO[0]} moved to 1.3`);
  });

  it('a new coordinator resumes a rollout mid-way from the record; the old one can no longer write', async () => {
    await fleet.request('q1', { canary: 1, maxParallel: 2, minHealthyMs: 10_000 });
    await drive('1.3', (r) => r?.state === 'BATCH' && r.batch === 1);
    const old = { runner: fleet.runner, writer: fleet.writer };
    const before = await fleet.record();

    await fleet.takeOver('host-b');
    await fleet.converge();
    fleet.now += 30_000;
    await fleet.pass(old.runner, old.writer);
    expect(old.writer.fenced).toBe(true);
    expect(await fleet.record()).toEqual(before);

    const steps = await drive('1.3', ended);
    // the batch in flight is waited for again under the new term: minHealthy counts from the takeover
    expect(steps[0]!.record).toMatchObject({ state: 'BATCH', batch: 1, term: fleet.writer.revision, batchStartedAt: fleet.now - (steps.length - 1) * 5000 });
    expect(steps.at(-1)!.record!.state).toBe('SUCCEEDED');
    expect(await fleet.on('1.3')).toBe(6);
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.3', previous: '1.2' });
  });

  it('pause holds between batches, resume finishes; abort rolls back without marking the version failed', async () => {
    await fleet.request('q1', { canary: 1, maxParallel: 2, minHealthyMs: 10_000 });
    await fleet.pass();
    await fleet.control('pause');
    await fleet.turns(8);
    const held = (await fleet.record())!;
    expect(held).toMatchObject({ state: 'PAUSED', pausedFrom: 'CANARY', batch: 0 });
    expect(held.instances[ECHO[0]!]!.state).toBe('healthy');
    expect(await fleet.on('1.3')).toBe(1);
    expect((await client.get(fleet.keys.rolloutControl('utils', 'echo')).string())).toBeNull();

    await fleet.control('resume');
    expect((await drive('1.3', ended)).at(-1)!.record!.state).toBe('SUCCEEDED');

    await fleet.request('q2', { version: '1.1', canary: 0, maxParallel: 2, minHealthyMs: 10_000 });
    await drive('1.1', (r) => r?.requests.includes('q2') === true && r.state === 'BATCH' && r.batch === 1);
    await fleet.control('abort', 'r-some-earlier-rollout');
    await fleet.pass();
    expect(await client.get(fleet.keys.rolloutControl('utils', 'echo')).string()).toBeNull();
    expect((await fleet.record())!.state).toBe('BATCH'); // a control meant for another rollout is dropped
    await fleet.control('abort');
    const aborted = (await drive('1.1', ended)).at(-1)!.record!;
    expect(aborted).toMatchObject({ state: 'ROLLED_BACK', cause: 'abort', reason: 'aborted by test', host: null });
    expect(await fleet.on('1.3')).toBe(6);
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.3', failed: [] });
  });

  it('counts an instance put back only once its host read the assignment that did it, with no swap away in flight', async () => {
    await fleet.request('q1', { version: '1.3', canary: 0, maxParallel: 2, minHealthyMs: 10_000 });
    await fleet.pass();
    await fleet.converge(); // the first batch READY on 1.3
    await fleet.pass();
    const [first, second] = ECHO as [string, string];
    await fleet.control('abort');
    await fleet.pass();
    expect((await fleet.record())!.state).toBe('ROLLING_BACK');
    const host = (await fleet.assignments()).get(second)!.host;
    /** Rewrites `host`'s report: `second` READY on 1.2 (as a host whose swap to 1.3 had not landed would say), read at `assignments`. */
    const report = async (assignments: string, swapTo: string | null): Promise<void> => {
      const current = JSON.parse((await client.get(fleet.keys.reports(host)).string())!) as HostReport;
      const instances = current.instances.map((i) => (i.identifier === second ? { ...i, version: '1.2', state: 'READY', readySince: fleet.now, swapTo } : i));
      await client.put(fleet.keys.reports(host)).value(JSON.stringify({ ...current, assignments, instances } satisfies HostReport));
    };
    // the put-back's own write: the latest of this host's assignments
    const revision = String((await client.get(fleet.keys.assignments(host)).exec()).kvs[0]!.mod_revision);

    // a swap to 1.3 still in flight: the old process READY on 1.2 is about to go
    await report(revision, '1.3');
    await fleet.pass();
    expect((await fleet.record())!.instances[second]!.state).toBe('reverting');
    // a report written before its host read the assignment that put it back
    const older = String(BigInt(revision) - 1n);
    await report(older, null);
    await fleet.pass();
    expect((await fleet.record())).toMatchObject({ state: 'ROLLING_BACK' });
    expect((await fleet.record())!.instances[second]!.state).toBe('reverting');

    await fleet.converge(); // the hosts act on the put-back and say so
    await fleet.pass();
    const record = (await fleet.record())!;
    expect(record).toMatchObject({ state: 'ROLLED_BACK', cause: 'abort' });
    expect([record.instances[first]!.state, record.instances[second]!.state]).toEqual(['reverted', 'reverted']);
    expect(await fleet.on('1.2')).toBe(6);
  });

  it('runs two requests for one product one after the other, oldest first', async () => {
    await fleet.request('q1', { canary: 0, maxParallel: 3, minHealthyMs: 0 });
    fleet.now += 1;
    await fleet.request('q2', { version: '1.1', canary: 0, maxParallel: 6, minHealthyMs: 0 });
    await fleet.pass();
    const first = (await fleet.record())!;
    expect(first).toMatchObject({ requests: ['q1'], to: '1.3', state: 'BATCH' });
    expect(await fleet.pendingRequests()).toEqual(['q1', 'q2']);
    const steps = await drive('1.1', (r) => r?.requests.includes('q2') === true && ended(r));
    const order = steps.map((s) => `${s.record!.requests[0]} ${s.state}`);
    expect([...new Set(order)]).toEqual(['q1 BATCH', 'q1 SUCCEEDED', 'q2 BATCH', 'q2 SUCCEEDED']);
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.1', previous: '1.3' });
    expect(await fleet.pendingRequests()).toEqual([]);
  });

  it('ends at once when there is nothing to move, and refuses a version the repository does not list', async () => {
    fleet.versions = ['1.1', '1.2'];
    await fleet.request('q1');
    await fleet.pass();
    expect(await fleet.record()).toMatchObject({ state: 'SUCCEEDED', from: '1.2', to: '1.2', instances: {}, requests: ['q1'] });
    expect(fleet.names()).toEqual(['UPDATE_SKIPPED']);

    await fleet.request('q2', { version: '9.9' });
    await fleet.pass();
    const refused = (await fleet.record())!;
    expect(refused).toMatchObject({ state: 'ROLLED_BACK', cause: 'refused', requests: ['q2'] });
    expect(refused.reason).toMatch(/^VERSION_NOT_FOUND: /);
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.2', failed: [] });
    const requests = await fleet.requests();
    expect(requests.get('q1')!.result).toMatchObject({ state: 'SUCCEEDED', from: '1.2', to: '1.2', instances: [] });
    expect(requests.get('q2')!.result).toMatchObject({ state: 'ROLLED_BACK', cause: 'refused', reason: refused.reason });

    // an answer no admin came back for is deleted an hour later
    fleet.now += 3_600_001;
    await fleet.pass();
    expect((await fleet.requests()).size).toBe(0);
  });

  it('runs auto checks once per interval for the whole fleet, skipping a version that failed', async () => {
    fleet.versions = ['1.1', '1.2'];
    await fleet.desire(6, { mode: 'auto', intervalMs: 60_000, canary: 0, maxParallel: 6, minHealthyMs: 0 });
    await fleet.turns(2); // a check at once: nothing newer, its request dropped
    expect(await fleet.record()).toBeUndefined();
    expect((await fleet.requests()).size).toBe(0);
    const first = (await fleet.runningVersion())!.checkedAt!;

    fleet.versions.push('1.3');
    fleet.broken.set('1.3', 'crash');
    await fleet.turns(5); // 25 s: not due yet
    expect(await fleet.record()).toBeUndefined();
    fleet.now = first + 60_000;
    const failed = (await drive('1.3', ended)).at(-1)!.record!;
    expect(failed).toMatchObject({ trigger: 'auto', to: '1.3', state: 'ROLLED_BACK' });
    expect((await fleet.requests()).size).toBe(0); // an automatic request is deleted once answered: no one follows it

    fleet.now = (await fleet.runningVersion())!.checkedAt! + 60_000;
    await fleet.turns(2); // due again: 1.3 failed, nothing else newer
    expect((await fleet.record())!.id).toBe(failed.id);

    fleet.versions.push('1.4');
    fleet.now = (await fleet.runningVersion())!.checkedAt! + 60_000;
    const done = (await drive('1.4', (r) => r?.to === '1.4' && ended(r))).at(-1)!.record!;
    expect(done).toMatchObject({ trigger: 'auto', from: '1.2', to: '1.4', state: 'SUCCEEDED' });
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.4', failed: ['1.3'] });
  });

  it('runs a planned check at the time its `at` names, not before, and not once per coordinator', async () => {
    fleet.versions = ['1.1', '1.2'];
    await fleet.desire(6, { mode: 'planned', at: '0 * * * *', canary: 0, maxParallel: 6, minHealthyMs: 0 });
    await fleet.pass(); // first sight: the next top of the hour is the first check
    const marked = (await fleet.runningVersion())!.checkedAt!;
    const top = new Date(marked);
    top.setMinutes(60, 0, 0);
    fleet.versions.push('1.3');
    fleet.now = top.getTime() - 1000;
    await fleet.pass();
    expect(await fleet.pendingRequests()).toEqual([]);
    await fleet.takeOver('host-c'); // a new coordinator reads when the last check ran
    fleet.now = top.getTime();
    await fleet.pass();
    expect(await fleet.pendingRequests()).toEqual([`planned-${top.getTime().toString(36)}`]);
    const done = (await drive('1.3', ended)).at(-1)!.record!;
    expect(done).toMatchObject({ trigger: 'planned', to: '1.3', state: 'SUCCEEDED' });
  });

  it('takes in a scale-up on its last batch and drops what a scale-down removed', async () => {
    await fleet.request('q1', { canary: 1, maxParallel: 2, minHealthyMs: 10_000 });
    await drive('1.3', (r) => r?.state === 'CANARY');
    await fleet.desire(8);
    await fleet.pass();
    const grown = (await fleet.record())!;
    expect(grown.batches.at(-1)).toEqual([ECHO[5], 'utils-echo-1-7', 'utils-echo-1-8']);
    expect(grown.instances['utils-echo-1-8']).toMatchObject({ state: 'pending', from: '1.2', to: '1.3' });
    await drive('1.3', (r) => r?.state === 'BATCH' && r.batch === 1);
    await fleet.desire(3);
    const final = (await drive('1.3', ended)).at(-1)!.record!;
    expect(final.state).toBe('SUCCEEDED');
    expect(Object.keys(final.instances)).toEqual(ECHO.slice(0, 3));
    expect(final.batches).toEqual([[ECHO[0]], [ECHO[1], ECHO[2]]]);
    expect([...(await fleet.assignments()).values()].map((a) => a.version)).toEqual(['1.3', '1.3', '1.3']);
  });

  it('ends as aborted when the product leaves the desired state, answering its request', async () => {
    await fleet.request('q1', { canary: 1, minHealthyMs: 10_000 });
    await drive('1.3', (r) => r?.state === 'CANARY');
    await client.delete().key(fleet.keys.desired('utils', 'echo'));
    const final = (await drive('1.3', ended)).at(-1)!.record!;
    expect(final).toMatchObject({ state: 'ROLLED_BACK', cause: 'abort', reason: "utils/echo was removed from the fleet's desired state", instances: {} });
    expect((await fleet.requests()).get('q1')!.result).toMatchObject({ state: 'ROLLED_BACK', cause: 'abort' });
    expect(await fleet.runningVersion()).toMatchObject({ failed: [] });
  });
});
