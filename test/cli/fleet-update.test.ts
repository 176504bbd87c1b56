// `worker-admin fleet update` and `fleet rollout` as a user runs them: the CLI → a real router → an admin connection
// answering with the fleet's rollout handlers (the real dispatch) → etcd, where the coordinator's real passes (run
// here, hosts simulated by their reports) carry the rollout out.
import type { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AdminContext } from '../../src/admin/commands/context.js';
import { handleAdminCommand } from '../../src/admin/commands/index.js';
import { adminPivot } from '../../src/admin/pivot.js';
import { RouterLink } from '../../src/admin/router-link.js';
import { findBinary } from '../../src/fleet/engines/local-servers.js';
import { rolloutHandlers } from '../../src/fleet/rollout/handlers.js';
import { cliRunner, type CliRun } from '../helpers/cli.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { until } from '../fleet/engines.js';
import { RolloutFleet, logger, startTestEtcd } from '../fleet/rollout-harness.js';

const skip = (await findBinary('etcd')) ? undefined : 'fleet update CLI tests skipped: etcd not installed (apt-get install -y etcd-server)';
if (skip) console.warn(skip);

const ECHO = Array.from({ length: 6 }, (_, i) => `utils-echo-1-${i + 1}`);

describe.skipIf(skip !== undefined)('worker-admin fleet update / fleet rollout', () => {
  let engine: Awaited<ReturnType<typeof startTestEtcd>>;
  let client: Etcd3;
  let router: TestRouter;
  let link: RouterLink;
  let fleet: RolloutFleet;
  const closing = new AbortController();
  const runner = cliRunner();
  const cli = (args: string[]): Promise<CliRun> => runner.run(['fleet', ...args, '--router', router.address, '--token', router.adminToken]);

  const whilePassing = <T>(work: Promise<T>): Promise<T> => fleet.whilePassing(work, 25); // the CLI's request and the admin's watch get through

  /** `fleet rollout ACTION`, with one coordinator pass once its control is written (no clock running meanwhile). */
  async function controlled(action: string): Promise<CliRun> {
    const run = cli(['rollout', action, 'utils/echo']);
    await until(async () => (await client.get(fleet.keys.rolloutControl('utils', 'echo')).string()) !== null, 30_000, `${action} written`);
    await fleet.pass();
    return run;
  }

  beforeAll(async () => {
    engine = await startTestEtcd('fleet-cli');
    client = engine.client;
    fleet = await RolloutFleet.sixOnThree(client);
    fleet.versions = ['1.1', '1.2'];
    router = await startTestRouter();
    const handlers = rolloutHandlers({ etcd: client, keys: fleet.keys, host: 'host-a', setManual: async () => undefined, closing: closing.signal });
    // only what the dispatch reads: the fleet hook and the logger
    const ctx = { fleet: { host: 'host-a', managed: () => true, handlers }, logger } as unknown as AdminContext;
    link = new RouterLink({
      address: router.address, adminToken: router.adminToken, identity: { identifier: 'admin', version: '0.1' },
      commands: adminPivot().commands, products: [], logger, handle: (command) => handleAdminCommand(command, {}, ctx),
    });
    await link.start();
  }, 60_000);

  afterEach(() => runner.kill());

  afterAll(async () => {
    closing.abort();
    await link?.close();
    await router?.close();
    await engine?.stop();
  }, 60_000);

  it('exit 0 with nothing to update when the newest version already runs', async () => {
    const run = await whilePassing(cli(['update', 'utils/echo']));
    expect(run).toMatchObject({ code: 0, stdout: 'utils/echo: nothing to update, 1.2 runs\n' });
  });

  it('waits for the end of the rollout with the flags as settings: exit 0 naming what moved', async () => {
    fleet.versions = ['1.1', '1.2', '1.3'];
    const run = await whilePassing(cli(['update', 'utils/echo', '--canary', '1', '--max-parallel', '2', '--min-healthy', '10s']));
    expect(run).toMatchObject({ code: 0, stdout: `utils/echo 1.2 → 1.3: 6 instances updated (${ECHO.join(', ')})\n` });
    expect(await fleet.record()).toMatchObject({ state: 'SUCCEEDED', canary: 1, maxParallel: 2, minHealthyMs: 10_000, trigger: 'command' });
  });

  it('exit 1 naming the host and the reason when the version fails and is rolled back', async () => {
    fleet.versions = ['1.1', '1.2', '1.3', '1.4'];
    fleet.broken.set('1.4', 'crash');
    const run = await whilePassing(cli(['update', 'utils/echo', '--version', '1.4', '--canary', '1']));
    const record = (await fleet.record())!;
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`worker-admin fleet update: UPDATE_FAILED: utils/echo 1.3 → 1.4 failed on ${record.host}: ${ECHO[0]} is FAILED on 1.4 (WORKER_EXITED: the worker exited with code 1 before it was READY) (rolled back: 1.3 keeps serving)\n`);
    expect(await fleet.on('1.3')).toBe(6);
  });

  it('fleet rollout pauses and resumes the rollout a fleet update waits for; nothing in progress: exit 1', async () => {
    const none = await cli(['rollout', 'pause', 'utils/echo']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^worker-admin fleet rollout: NOT_FOUND: no rollout of utils\/echo in progress/);

    fleet.broken.clear();
    const update = cli(['update', 'utils/echo', '--version', '1.1', '--canary', '1', '--min-healthy', '10s']);
    await until(async () => (await fleet.pendingRequests()).length === 1, 30_000, 'the update request written');
    await fleet.pass();
    expect(await fleet.on('1.1')).toBe(1);
    const pause = await controlled('pause');
    const record = (await fleet.record())!;
    expect(pause).toMatchObject({ code: 0, stdout: `utils/echo: rollout ${record.id} PAUSED (pause)\n` });
    await fleet.turns(6);
    expect(await fleet.on('1.1')).toBe(1);
    const resume = await controlled('resume');
    // the canary was healthy while paused: the first batch begins at once
    expect(resume.stdout).toBe(`utils/echo: rollout ${record.id} BATCH (resume)\n`);
    expect(await whilePassing(update)).toMatchObject({ code: 0, stdout: `utils/echo 1.3 → 1.1: 6 instances updated (${ECHO.join(', ')})\n` });
  });

  it('with --timeout, exit 1 saying the rollout goes on; one request however often it was followed', async () => {
    const run = cli(['update', 'utils/echo', '--version', '1.2', '--timeout', '3s']);
    await until(async () => (await fleet.pendingRequests()).length === 1, 30_000, 'the update request written');
    await fleet.pass(); // the first batch moves; no pass after it
    const ended = await run;
    expect(ended.code).toBe(1);
    const lines = ended.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) expect(line).toMatch(/^worker-admin fleet update: TIMEOUT: utils\/echo 1\.1 → 1\.2: rollout \S+ goes on \(BATCH, batch 1 of 6\)/);
    expect(await fleet.pendingRequests()).toHaveLength(1);
    await whilePassing(until(async () => (await fleet.record())?.state === 'SUCCEEDED', 60_000, 'the rollout ended'));
  });

  it('refuses bad flags with the usage (exit 2)', async () => {
    for (const args of [['update'], ['update', 'utils/echo', '--max-parallel', '0'], ['update', 'utils/echo', '--canary', 'x'], ['rollout', 'stop', 'utils/echo']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain('usage: worker-admin fleet');
    }
  });
});
