// The admin side of a fleet rollout on a real etcd: a request answered through its key while the coordinator's passes
// run, failures worded for the reply, the caller's deadline, a request followed again by its id, and the handlers.
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { beforeEach, describe, expect, it } from 'vitest';
import { WorkerAdminError, isWorkerAdminError } from '../../src/common/errors.js';
import type { AdminContext } from '../../src/admin/commands/context.js';
import type { ProductRef } from '../../src/admin/payloads.js';
import { findBinary } from '../../src/fleet/engines/local-servers.js';
import { controlRollout, requestRollout } from '../../src/fleet/rollout/follow.js';
import { rolloutHandlers } from '../../src/fleet/rollout/handlers.js';
import { until } from './engines.js';
import { freshFleetEachTest, type RolloutFleet } from './rollout-harness.js';

const skip = (await findBinary('etcd')) ? undefined : 'rollout follow tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

const ECHO = Array.from({ length: 6 }, (_, i) => `utils-echo-1-${i + 1}`);
const REF: ProductRef = { type: 'utils', product: 'echo' };
/** Handlers here ignore the admin context: everything they use comes in through their deps. */
const NO_CONTEXT = {} as AdminContext;

async function rejection(promise: Promise<unknown>): Promise<WorkerAdminError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WorkerAdminError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(skip !== undefined)('fleet rollout: requests answered through their key', () => {
  const t = freshFleetEachTest('follow', { canary: 1, maxParallel: 2, minHealthyMs: 10_000 });
  let fleet: RolloutFleet;
  let client: Etcd3;
  beforeEach(() => {
    ({ fleet, client } = t);
  });

  const deps = (): { etcd: Etcd3; keys: RolloutFleet['keys'] } => ({ etcd: client, keys: fleet.keys });

  it('answers {from, to, instances} from the result the coordinator writes in the request, then deletes it', async () => {
    const outcome = await fleet.whilePassing(requestRollout(deps(), REF, { trigger: 'command', by: 'admin@host-b' }, Date.now() + 60_000));
    expect(outcome).toEqual({ from: '1.2', to: '1.3', instances: ECHO });
    expect(await fleet.runningVersion()).toMatchObject({ version: '1.3', previous: '1.2' });
    expect((await fleet.requests()).size).toBe(0);
  });

  it('answers a request whose result was written while no admin followed it (the admin that wrote it went away)', async () => {
    await fleet.request('orphan', { canary: 0, maxParallel: 6, minHealthyMs: 0 });
    await fleet.turns(4);
    expect((await fleet.requests()).get('orphan')!.result).toMatchObject({ state: 'SUCCEEDED' });
    expect(await requestRollout(deps(), REF, { trigger: 'command', by: 'test', id: 'orphan' }, Date.now() + 5000)).toEqual({ from: '1.2', to: '1.3', instances: ECHO });
    expect((await fleet.requests()).size).toBe(0);
  });

  it('throws UPDATE_FAILED naming the host and the reason, and that the old version keeps serving', async () => {
    fleet.broken.set('1.3', 'crash');
    const error = await rejection(fleet.whilePassing(requestRollout(deps(), REF, { trigger: 'command', by: 'test' }, Date.now() + 60_000)));
    const record = (await fleet.record())!;
    expect(error.code).toBe('UPDATE_FAILED');
    expect(error.message).toBe(`utils/echo 1.2 → 1.3 failed on ${record.host}: ${ECHO[0]} is FAILED on 1.3 (WORKER_EXITED: the worker exited with code 1 before it was READY) (rolled back: 1.2 keeps serving)`);
  });

  it('throws the refusal\'s own code for a request that cannot be served', async () => {
    const error = await rejection(fleet.whilePassing(requestRollout(deps(), REF, { version: '7.0', trigger: 'command', by: 'test' }, Date.now() + 60_000)));
    expect(error.code).toBe('VERSION_NOT_FOUND');
    expect(error.message).toContain('7.0');
  });

  it('at its deadline says the rollout goes on, naming it; the same id followed again gets the one answer', async () => {
    const id = randomUUID();
    const first = requestRollout(deps(), REF, { trigger: 'command', by: 'test', id }, Date.now() + 1500);
    await until(async () => (await fleet.pendingRequests()).includes(id), 10_000, 'the request written');
    await fleet.pass(); // the canary moves, then no pass runs until the deadline
    const late = await rejection(first);
    const record = (await fleet.record())!;
    expect(late.code).toBe('TIMEOUT');
    expect(late.message).toBe(`utils/echo 1.2 → 1.3: rollout ${record.id} goes on (CANARY, batch 1 of 4); \`worker-admin fleet status\` shows it`);

    // followed again by its id (the rollout went on meanwhile): no second request, and the one answer
    await fleet.turns(3);
    const again = await fleet.whilePassing(requestRollout(deps(), REF, { trigger: 'command', by: 'test', id }, Date.now() + 60_000));
    expect(again).toEqual({ from: '1.2', to: '1.3', instances: ECHO });
    expect(await fleet.record()).toMatchObject({ id: record.id, requests: [id], state: 'SUCCEEDED' });
    expect((await fleet.requests()).size).toBe(0); // replied: the admin deleted it
  });

  it('says what a request waits behind when its deadline comes first', async () => {
    await fleet.request('first');
    await fleet.pass();
    const running = (await fleet.record())!;
    const error = await rejection(requestRollout(deps(), REF, { version: '1.1', trigger: 'command', by: 'test', id: 'second' }, Date.now() + 500));
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toBe(`utils/echo: rollout request second still waits behind rollout ${running.id} (1.2 → 1.3, CANARY); it runs when its turn comes`);
    expect(await fleet.pendingRequests()).toEqual(['first', 'second']);
  });

  it('pauses through K/rollout-control once the coordinator takes it; nothing in progress is NOT_FOUND', async () => {
    const missing = await rejection(controlRollout(deps(), REF, 'pause', 'test', 1000));
    expect(missing.code).toBe('NOT_FOUND');
    await fleet.request('q1');
    await fleet.pass();
    const outcome = await fleet.whilePassing(controlRollout(deps(), REF, 'pause', 'admin@host-c', 10_000));
    expect(outcome).toMatchObject({ product: 'utils/echo', action: 'pause', state: 'PAUSED', taken: true });
  });

  describe('handlers', () => {
    const manual: Array<{ ref: ProductRef; by: string }> = [];
    const handlers = (): ReturnType<typeof rolloutHandlers> => rolloutHandlers({
      etcd: client, keys: fleet.keys, host: 'host-b', setManual: async (ref, by) => void manual.push({ ref, by }),
    });
    const call = (): { uuid: string; deadlineAt: number } => ({ uuid: randomUUID(), deadlineAt: Date.now() + 60_000 });

    it('ADMIN_UPDATE rolls out with the payload\'s settings, ADMIN_ROLLBACK goes back to the previous version in manual mode', async () => {
      const h = handlers();
      const updated = await fleet.whilePassing(h['ADMIN_UPDATE']!({ product: 'utils/echo', version: '1.3', maxParallel: 5, canary: 0, minHealthy: '0s' }, NO_CONTEXT, call()));
      expect(updated).toEqual({ from: '1.2', to: '1.3', instances: ECHO });
      expect((await fleet.record())!.batches).toEqual([ECHO.slice(0, 5), ECHO.slice(5)]);

      const back = await fleet.whilePassing(h['ADMIN_ROLLBACK']!({ product: 'utils/echo' }, NO_CONTEXT, call()));
      expect(back).toEqual({ from: '1.3', to: '1.2', instances: ECHO });
      expect(manual).toEqual([{ ref: REF, by: 'admin@host-b' }]);
      expect((await fleet.record())!.trigger).toBe('rollback');
      expect(await fleet.runningVersion()).toMatchObject({ version: '1.2', previous: '1.3' });
    });

    it('refuses bad payloads as PAYLOAD_INVALID, and a rollback with nothing before as NOT_FOUND', async () => {
      const h = handlers();
      for (const payload of [{}, { product: 'echo' }, { product: 'utils/echo', maxParallel: 0 }, { product: 'utils/echo', minHealthy: 'soon' }, { product: 'utils/echo', version: '1' }, { product: 'utils/echo', request: 'a b' }]) {
        const error = await rejection(h['ADMIN_UPDATE']!(payload, NO_CONTEXT, call()));
        expect(isWorkerAdminError(error, 'PAYLOAD_INVALID'), JSON.stringify(payload)).toBe(true);
      }
      expect((await rejection(h['ADMIN_FLEET_ROLLOUT']!({ product: 'utils/echo', action: 'stop' }, NO_CONTEXT, call()))).code).toBe('PAYLOAD_INVALID');
      expect((await rejection(h['ADMIN_ROLLBACK']!({ product: 'utils/echo' }, NO_CONTEXT, call()))).code).toBe('NOT_FOUND');
      expect(await fleet.pendingRequests()).toEqual([]);
    });
  });
});
