import { describe, expect, it } from 'vitest';
import { RestartPolicy, afterCrash, exitOutcome } from '../../src/process/backoff.js';
import { ManualClock } from '../helpers/clock.js';

const crash = { code: 1, signal: null };
const killed = { code: null, signal: 'SIGKILL' };
const clean = { code: 0, signal: null };

/** Runs `uptimes` through a fresh policy: start, run that long, crash. Returns the decisions. */
function crashes(uptimes: number[], mode: 'always' | 'on-failure' = 'always') {
  const clock = new ManualClock(1_000_000);
  const policy = new RestartPolicy(mode, {}, clock);
  const decisions = uptimes.map((uptime) => {
    policy.started();
    clock.advance(uptime);
    return policy.exited(crash, 'running');
  });
  return { policy, decisions };
}

describe('restart backoff', () => {
  it('waits 1 s, doubling to 60 s, while crashes are not quick (over minUptime, under reset)', () => {
    const { decisions, policy } = crashes(Array(9).fill(15_000));
    expect(decisions.map((d) => (d.action === 'restart' ? d.delayMs : d.action))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    // A restart counts once its process started: 9 decided, 8 started (the last one is still waiting).
    expect(policy.restarts).toBe(8);
    policy.started();
    expect(policy.restarts).toBe(9);
  });

  it('resets the delay after 30 s of good running', () => {
    const { decisions } = crashes([15_000, 15_000, 15_000, 30_000, 15_000]);
    expect(decisions.map((d) => (d.action === 'restart' ? d.delayMs : d.action))).toEqual([1000, 2000, 4000, 1000, 2000]);
  });

  it('gives up (FAILED) after 5 consecutive crashes each under minUptime 10 s', () => {
    const { decisions, policy } = crashes([100, 200, 9_999, 50, 10]);
    expect(decisions.slice(0, 4).map((d) => d.action)).toEqual(['restart', 'restart', 'restart', 'restart']);
    expect(decisions[4]).toEqual({ action: 'fail', reason: 'crashed 5 times in a row, each within 10000 ms of starting', crashes: 5 });
    expect(policy.restarts).toBe(4);
    policy.started(); // a start after giving up (an ADMIN_START_WORKER) is no restart
    expect(policy.restarts).toBe(4);
  });

  it('a run of 10 s or more breaks the streak of quick crashes', () => {
    const { decisions } = crashes([100, 100, 100, 100, 10_000, 100, 100, 100, 100]);
    expect(decisions.every((d) => d.action === 'restart')).toBe(true);
    expect(crashes([100, 100, 100, 100, 10_000, 100, 100, 100, 100, 100]).decisions.at(-1)?.action).toBe('fail');
  });

  it('counts a SIGKILL (e.g. kill -9 of the worker) as a crash to restart', () => {
    const clock = new ManualClock(1_000_000);
    const policy = new RestartPolicy('on-failure', {}, clock);
    policy.started();
    clock.advance(5);
    expect(policy.exited(killed, 'running')).toEqual({ action: 'restart', delayMs: 1000, attempt: 1, uptimeMs: 5 });
    policy.started();
    expect(policy.restarts).toBe(1);
  });

  it('honours custom options', () => {
    const clock = new ManualClock(1_000_000);
    const policy = new RestartPolicy('always', { initialDelayMs: 10, maxDelayMs: 25, maxQuickCrashes: 2 }, clock);
    policy.started();
    expect(policy.exited(crash, 'running')).toMatchObject({ action: 'restart', delayMs: 10 });
    policy.started();
    expect(policy.exited(crash, 'running')).toMatchObject({ action: 'fail', crashes: 2 });
  });

  it('a restart that never came up counts as a quick crash, toward giving up', () => {
    const clock = new ManualClock(1_000_000);
    const policy = new RestartPolicy('always', {}, clock);
    policy.started();
    clock.advance(100);
    expect(policy.exited(crash, 'running')).toMatchObject({ action: 'restart', delayMs: 1000 });
    expect(policy.launchFailed()).toMatchObject({ action: 'restart', delayMs: 2000, uptimeMs: 0 });
    policy.launchFailed();
    policy.launchFailed();
    expect(policy.launchFailed()).toEqual({ action: 'fail', reason: 'crashed 5 times in a row, each within 10000 ms of starting', crashes: 5 });
    expect(policy.restarts).toBe(0);
  });

  it('afterCrash is pure: same input, same output', () => {
    const state = { attempt: 2, quickCrashes: 1 };
    expect(afterCrash(state, 500)).toEqual(afterCrash(state, 500));
    expect(state).toEqual({ attempt: 2, quickCrashes: 1 });
    expect(afterCrash(state, 500)).toEqual({ state: { attempt: 3, quickCrashes: 2 }, decision: { action: 'restart', delayMs: 4000, attempt: 3, uptimeMs: 500 } });
  });
});

describe('restart modes', () => {
  it('always: even exit 0 restarts', () => {
    expect(exitOutcome('always', clean, 'running')).toBeUndefined();
    expect(exitOutcome('always', crash, 'running')).toBeUndefined();
  });

  it('on-failure: exit 0 ends the instance (STOPPED), a failure restarts', () => {
    expect(exitOutcome('on-failure', clean, 'running')).toEqual({ action: 'stop', reason: 'completed', exit: clean });
    expect(exitOutcome('on-failure', crash, 'running')).toBeUndefined();
    expect(exitOutcome('on-failure', killed, 'running')).toBeUndefined();
  });

  it('never: any exit ends the instance and keeps the exit code', () => {
    expect(exitOutcome('never', crash, 'running')).toEqual({ action: 'stop', reason: 'run-once', exit: crash });
    expect(exitOutcome('never', clean, 'running')).toEqual({ action: 'stop', reason: 'run-once', exit: clean });
  });

  it('an exit while draining or stopping is never a crash, whatever the mode', () => {
    const clock = new ManualClock(1_000_000);
    for (const mode of ['always', 'on-failure', 'never'] as const) {
      const policy = new RestartPolicy(mode, {}, clock);
      for (let i = 0; i < 10; i++) {
        policy.started();
        clock.advance(10);
        expect(policy.exited(killed, i % 2 ? 'draining' : 'stopping')).toEqual({ action: 'stop', reason: 'requested', exit: killed });
      }
      expect(policy.restarts).toBe(0);
      // The streak is untouched: the next real crash is the first one.
      policy.started();
      clock.advance(10);
      if (mode !== 'never') expect(policy.exited(crash, 'running')).toMatchObject({ action: 'restart', delayMs: 1000, attempt: 1 });
    }
  });
});
