// The rollout record's lifecycle: batches planned canary first, every allowed event and every refused one.
import { describe, expect, it } from 'vitest';
import { isWorkerAdminError } from '../../src/common/errors.js';
import { applyEvent, canApply, isTerminal, newRollout, planBatches, type RolloutEvent } from '../../src/fleet/rollout/machine.js';
import type { RolloutRecord, RolloutState } from '../../src/fleet/rollout/types.js';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `utils-echo-1-${i + 1}`);

function record(count: number, canary = 1, maxParallel = 2): RolloutRecord {
  const instances = ids(count).map((identifier, i) => ({ identifier, host: `host-${'abc'[i % 3]}`, version: '1.2' }));
  return newRollout({ id: 'r1', product: 'utils/echo', from: '1.2', to: '1.3', trigger: 'command', canary, maxParallel, minHealthyMs: 10_000, instances, requests: ['q1'] }, 1000);
}

describe('planBatches', () => {
  it('puts the canaries first, alone, then groups of maxParallel in the order given', () => {
    expect(planBatches(ids(6), 1, 2)).toEqual([['utils-echo-1-1'], ['utils-echo-1-2', 'utils-echo-1-3'], ['utils-echo-1-4', 'utils-echo-1-5'], ['utils-echo-1-6']]);
    expect(planBatches(ids(5), 0, 5)).toEqual([ids(5)]);
    expect(planBatches(ids(3), 2, 1)).toEqual([['utils-echo-1-1', 'utils-echo-1-2'], ['utils-echo-1-3']]);
  });

  it('caps the canary at the instances there are and treats maxParallel below 1 as 1', () => {
    expect(planBatches(ids(2), 5, 3)).toEqual([ids(2)]);
    expect(planBatches(ids(3), 0, 0)).toEqual([['utils-echo-1-1'], ['utils-echo-1-2'], ['utils-echo-1-3']]);
    expect(planBatches([], 1, 2)).toEqual([]);
  });
});

describe('newRollout', () => {
  it('starts PENDING with every instance pending on its own version, batches planned', () => {
    const r = record(3);
    expect(r.state).toBe('PENDING');
    expect(r.batches).toEqual([['utils-echo-1-1'], ['utils-echo-1-2', 'utils-echo-1-3']]);
    expect(r.instances['utils-echo-1-2']).toMatchObject({ host: 'host-b', from: '1.2', to: '1.3', state: 'pending', movedAt: null });
    expect(r).toMatchObject({ requests: ['q1'], reason: null, host: null, cause: null, startedAt: 1000, endedAt: null });
  });
});

describe('applyEvent', () => {
  it('walks CANARY, BATCH … BATCH, SUCCEEDED', () => {
    let r = applyEvent(record(6), { type: 'begin' }, 2000);
    expect(r).toMatchObject({ state: 'CANARY', batch: 0, batchStartedAt: 2000 });
    const seen: Array<[RolloutState, number]> = [];
    for (let t = 3000; !isTerminal(r.state); t += 1000) {
      r = applyEvent(r, { type: 'advance' }, t);
      seen.push([r.state, r.batch]);
    }
    expect(seen).toEqual([['BATCH', 1], ['BATCH', 2], ['BATCH', 3], ['SUCCEEDED', 3]]);
    expect(r.endedAt).toBe(6000);
  });

  it('begins with a BATCH when there is no canary, and ends at once when there is nothing to move', () => {
    expect(applyEvent(record(4, 0), { type: 'begin' }, 1).state).toBe('BATCH');
    expect(applyEvent(record(0), { type: 'nothing' }, 7)).toMatchObject({ state: 'SUCCEEDED', endedAt: 7 });
  });

  it('pauses and resumes into the state it paused from', () => {
    const canary = applyEvent(record(4), { type: 'begin' }, 1);
    const paused = applyEvent(canary, { type: 'pause' }, 2);
    expect(paused).toMatchObject({ state: 'PAUSED', pausedFrom: 'CANARY' });
    expect(applyEvent(paused, { type: 'resume' }, 3)).toMatchObject({ state: 'CANARY', pausedFrom: null, batch: 0 });
    const batch = applyEvent(canary, { type: 'advance' }, 4);
    expect(applyEvent(applyEvent(batch, { type: 'pause' }, 5), { type: 'resume' }, 6)).toMatchObject({ state: 'BATCH', batch: 1 });
  });

  it('rolls back on a failure or an abort, from any state before the end, and ends ROLLED_BACK or ROLLBACK_FAILED', () => {
    const failure: RolloutEvent = { type: 'fail', cause: 'failure', reason: 'utils-echo-1-1 is FAILED on 1.3', host: 'host-b' };
    const canary = applyEvent(record(4), { type: 'begin' }, 1);
    for (const from of [record(4), canary, applyEvent(canary, { type: 'pause' }, 2), applyEvent(canary, { type: 'advance' }, 2)]) {
      const back = applyEvent(from, failure, 9);
      expect(back).toMatchObject({ state: 'ROLLING_BACK', cause: 'failure', host: 'host-b', reason: 'utils-echo-1-1 is FAILED on 1.3', pausedFrom: null, batchStartedAt: 9 });
    }
    const back = applyEvent(canary, { type: 'fail', cause: 'abort', reason: 'aborted by ops', host: null }, 3);
    expect(applyEvent(back, { type: 'reverted' }, 4)).toMatchObject({ state: 'ROLLED_BACK', cause: 'abort', endedAt: 4 });
    const failed = applyEvent(back, { type: 'revert-failed', reason: 'utils-echo-1-1 on host-a was not READY on 1.2 within 60 s' }, 5);
    expect(failed).toMatchObject({ state: 'ROLLBACK_FAILED', endedAt: 5 });
    expect(failed.reason).toBe('aborted by ops; putting back failed: utils-echo-1-1 on host-a was not READY on 1.2 within 60 s');
  });

  it('refuses every event its state does not allow, naming both (STATE_INVALID)', () => {
    const table: Array<[RolloutState, RolloutEvent['type'][]]> = [
      ['PENDING', ['advance', 'pause', 'resume', 'reverted', 'revert-failed']],
      ['CANARY', ['begin', 'nothing', 'resume', 'reverted', 'revert-failed']],
      ['BATCH', ['begin', 'nothing', 'resume', 'reverted', 'revert-failed']],
      ['PAUSED', ['begin', 'nothing', 'advance', 'pause', 'reverted', 'revert-failed']],
      ['ROLLING_BACK', ['begin', 'nothing', 'advance', 'pause', 'resume', 'fail']],
      ['SUCCEEDED', ['begin', 'nothing', 'advance', 'pause', 'resume', 'fail', 'reverted', 'revert-failed']],
      ['ROLLED_BACK', ['begin', 'nothing', 'advance', 'pause', 'resume', 'fail', 'reverted', 'revert-failed']],
      ['ROLLBACK_FAILED', ['begin', 'nothing', 'advance', 'pause', 'resume', 'fail', 'reverted', 'revert-failed']],
    ];
    const events: Record<RolloutEvent['type'], RolloutEvent> = {
      begin: { type: 'begin' }, nothing: { type: 'nothing' }, advance: { type: 'advance' }, pause: { type: 'pause' }, resume: { type: 'resume' },
      fail: { type: 'fail', cause: 'abort', reason: 'x', host: null }, reverted: { type: 'reverted' }, 'revert-failed': { type: 'revert-failed', reason: 'x' },
    };
    for (const [state, refused] of table) {
      for (const type of Object.keys(events) as Array<RolloutEvent['type']>) {
        expect(canApply(state, type), `${type} in ${state}`).toBe(!refused.includes(type));
      }
      for (const type of refused) {
        let thrown: unknown;
        try {
          applyEvent({ ...record(2), state }, events[type], 1);
        } catch (error) {
          thrown = error;
        }
        expect(isWorkerAdminError(thrown, 'STATE_INVALID'), `${type} in ${state}`).toBe(true);
        expect((thrown as Error).message).toContain(`${type} is not allowed in ${state}`);
      }
    }
  });

  it('leaves the record it was given untouched', () => {
    const r = applyEvent(record(2), { type: 'begin' }, 1);
    const copy = structuredClone(r);
    applyEvent(r, { type: 'advance' }, 2);
    expect(r).toEqual(copy);
  });
});
