// `worker-admin fleet update` and `fleet rollout pause|resume|abort` as an operator runs them, against real hosts (3 `up`
// processes on real nats-server and etcd, 6 instances of tests/rolling), under a load of ECHO commands: pause holds the
// rollout between batches, resume finishes it (exit 0), abort rolls it back (exit 1 saying so); 0 failed, 0 lost.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutRecord } from '../../src/fleet/rollout/types.js';
import { cliRunner, type CliRun } from '../helpers/cli.js';
import { fleetSkipReason, showHostLogsOnFailure, until } from './engines.js';
import { runLoad, tally, type Sent } from './load.js';
import { PRODUCT, startRollingFleet, type RollingFleet } from './rolling-fleet.js';

const skip = await fleetSkipReason();
// each batch stays in flight this long once READY: room to pause or abort between batches
const MIN_HEALTHY = '15s';
const LANES = 12;

/** Identifiers the rollout has touched (moved, healthy, failed, put back). */
const moved = (r: RolloutRecord): string[] => Object.entries(r.instances).filter(([, i]) => i.state !== 'pending').map(([id]) => id).sort();

describe.skipIf(skip !== undefined)('fleet update and fleet rollout through the CLI, on real hosts', () => {
  let f: RollingFleet;
  const runner = cliRunner();
  /** `worker-admin fleet ARGS` through `host`'s router with the admin token. */
  const fleetCli = (host: string, ...args: string[]): Promise<CliRun> =>
    runner.run(['fleet', ...args, '--router', f.fleet.host(host).router, '--token', f.engines.tokens.admin]);
  /** The rollout record once `probe` holds for it. */
  const recordWhen = async (probe: (r: RolloutRecord) => boolean, what: string): Promise<RolloutRecord> => {
    let seen: RolloutRecord | undefined;
    await until(async () => {
      seen = await f.rollout();
      return seen !== undefined && probe(seen);
    }, 180_000, what);
    return seen!;
  };
  /** ECHO through host-a's and host-c's routers, LANES at a time each, until stopped. */
  const load = (): { readonly sent: Sent[]; stop(): Promise<Sent[]> } => {
    const loads = ['host-a', 'host-c'].map((host) => runLoad(f.rpc(host), () => ({ command: 'ECHO', product: PRODUCT, payload: '{"x":1}', timeout_ms: 20_000 }), LANES));
    return {
      get sent() {
        return loads.flatMap((l) => l.sent);
      },
      stop: async () => (await Promise.all(loads.map((l) => l.stop()))).flat(),
    };
  };
  /** Replies a second over the run (reported, not asserted: speed is the bench's). */
  const rate = (sent: Sent[]): number => Math.round(sent.length / (Math.max(...sent.map((s) => s.repliedAt ?? 0)) - Math.min(...sent.map((s) => s.sentAt))) * 1000);

  beforeAll(async () => {
    f = await startRollingFleet('{ canary: 1, maxParallel: 2, minHealthy: 1s }', [['1.2', 'good'], ['1.3', 'good']]);
  }, 300_000);

  afterEach(() => runner.kill());
  showHostLogsOnFailure(() => f?.fleet, 150);

  afterAll(async () => {
    await f?.close();
  }, 180_000);

  it('pause holds between batches, resume finishes: fleet update exits 0; under load 0 failed, 0 lost', async () => {
    const traffic = load();
    await until(() => traffic.sent.filter((s) => s.reply?.status === 'SUCCESS').length >= 100, 60_000, 'load flows');
    const update = fleetCli('host-b', 'update', PRODUCT, '--version', '1.2', '--canary', '1', '--max-parallel', '2', '--min-healthy', MIN_HEALTHY);
    const started = await recordWhen((r) => r.to === '1.2' && r.state === 'CANARY', 'the canary batch begins');
    expect(started.batches.map((b) => b.length)).toEqual([1, 2, 2, 1]);
    const canary = started.batches[0]![0]!;

    const pause = await fleetCli('host-a', 'rollout', 'pause', PRODUCT);
    expect(pause).toMatchObject({ code: 0, stdout: `${PRODUCT}: rollout ${started.id} PAUSED (pause)\n` });
    // the canary in flight is still judged; the pass that finds it healthy would begin batch 1 were it not paused
    const held = await recordWhen((r) => r.instances[canary]?.state === 'healthy', 'the canary healthy while paused');
    expect(held).toMatchObject({ id: started.id, state: 'PAUSED', pausedFrom: 'CANARY', batch: 0 });
    expect(moved(held)).toEqual([canary]);
    // one more whole coordinator pass (a second pause, consumed and ignored): still held, nothing else assigned 1.2
    const again = await fleetCli('host-c', 'rollout', 'pause', PRODUCT);
    expect(again).toMatchObject({ code: 0, stdout: `${PRODUCT}: rollout ${started.id} PAUSED (pause)\n` });
    const still = (await f.rollout())!;
    expect(still).toMatchObject({ state: 'PAUSED', batch: 0 });
    expect(moved(still)).toEqual([canary]);
    expect(await f.versions()).toEqual({ '1.1': 5, '1.2': 1 });

    const resume = await fleetCli('host-a', 'rollout', 'resume', PRODUCT);
    // the canary is healthy: batch 1 begins in the pass that resumes
    expect(resume).toMatchObject({ code: 0, stdout: `${PRODUCT}: rollout ${started.id} BATCH (resume)\n` });
    const done = await update;
    const record = (await f.rollout())!;
    expect(record).toMatchObject({ id: started.id, state: 'SUCCEEDED' });
    expect(done).toMatchObject({ code: 0, stdout: `${PRODUCT} 1.1 → 1.2: 6 instances updated (${record.batches.flat().join(', ')})\n` });
    await until(async () => (await f.versions())['1.2'] === 6, 60_000, 'all on 1.2');

    const after = traffic.sent.length;
    await until(() => traffic.sent.length >= after + 100, 60_000, 'load after the rollout');
    const sent = await traffic.stop();
    expect(tally(sent)).toEqual({ SUCCESS: sent.length });
    for (const s of sent) expect(s.reply?.worker).toMatch(/^tests-rolling-1-[1-6]@1\.[12]$/);
    console.info(`pause/resume rollout: ${sent.length} commands, ${rate(sent)}/s, all SUCCESS`);
  }, 400_000);

  it('abort rolls back: every instance back on 1.2, fleet update exits 1 saying so; under load 0 failed, 0 lost', async () => {
    const traffic = load();
    await until(() => traffic.sent.filter((s) => s.reply?.status === 'SUCCESS').length >= 100, 60_000, 'load flows');
    const update = fleetCli('host-c', 'update', PRODUCT, '--version', '1.3', '--canary', '1', '--max-parallel', '2', '--min-healthy', MIN_HEALTHY);
    // past the canary: batch 1 in flight, three instances on 1.3
    const midway = await recordWhen((r) => r.to === '1.3' && r.state === 'BATCH' && r.batch === 1, 'batch 1 begins');
    expect(moved(midway)).toHaveLength(3);

    const abort = await fleetCli('host-a', 'rollout', 'abort', PRODUCT);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(new RegExp(`^tests/rolling: rollout ${midway.id} (ROLLING_BACK|ROLLED_BACK) \\(abort\\)\\n$`));
    const ended = await update;
    const endedAt = Date.now(); // the rollout was ROLLED_BACK before: from here on no instance serves 1.3
    expect(ended).toMatchObject({ code: 1, stdout: '', stderr: 'worker-admin fleet update: UPDATE_ABORTED: tests/rolling 1.2 → 1.3 was aborted by admin@host-a (rolled back: 1.2 keeps serving)\n' });
    const record = (await f.rollout())!;
    expect(record).toMatchObject({ id: midway.id, state: 'ROLLED_BACK', cause: 'abort' });
    expect(Object.values(record.instances).every((i) => i.state === 'reverted' || i.state === 'pending')).toBe(true);
    // an abort is no verdict on the version: 1.3 is not marked failed
    expect(await f.running()).toMatchObject({ version: '1.2', failed: [] });
    await until(async () => (await f.versions())['1.2'] === 6, 60_000, 'every instance back on 1.2');
    expect(await f.versions()).toEqual({ '1.2': 6 });

    const after = traffic.sent.length;
    await until(() => traffic.sent.length >= after + 1000, 60_000, 'load after the rollback');
    const sent = await traffic.stop();
    expect(tally(sent)).toEqual({ SUCCESS: sent.length });
    for (const s of sent) expect(s.reply?.worker).toMatch(/^tests-rolling-1-[1-6]@1\.[23]$/);
    expect(sent.filter((s) => s.sentAt > endedAt && !s.reply?.worker.endsWith('@1.2')).map((s) => s.reply?.worker)).toEqual([]);
    console.info(`aborted rollout: ${sent.length} commands, ${rate(sent)}/s, all SUCCESS`);
  }, 400_000);
});
