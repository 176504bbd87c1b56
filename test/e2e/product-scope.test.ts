// Commands scoped by product, with two real products declaring the same commands: utils/echo (pivot ECHO, SLOW; 1.1
// also serves VERSION as an extra) and tests/twin (pivot ECHO, VERSION). Unpinned they are AMBIGUOUS_COMMAND; pinned
// by product or target they are served; an extra command stays its worker's; a retired product stops counting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const CONNECTORS = [
  { type: 'utils', product: 'echo', versions: ['1.1'], config: { greeting: 'hello' } },
  { type: 'tests', product: 'twin', versions: ['1.0'] },
];

describe('commands scoped by product', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({ connectors: CONNECTORS, timeouts: { start: '20s' }, startConnectors: false });
    // tests/twin first: its pivot (VERSION) is stored and its worker connected before utils/echo says Hello.
    expect(await t.send('ADMIN_START_WORKER', { product: 'tests/twin' })).toMatchObject({ status: 'SUCCESS' });
    expect(await t.send('ADMIN_START_WORKER', { product: 'utils/echo' })).toMatchObject({ status: 'SUCCESS' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an unpinned command two products serve is INVALID AMBIGUOUS_COMMAND, naming them sorted; a major pin alone does not help', async () => {
    const ambiguous = { status: 'INVALID', worker: '', payload: '', error: 'AMBIGUOUS_COMMAND: ECHO is served by tests/twin, utils/echo; pin a product' };
    expect(await t.send('ECHO', { n: 1 })).toMatchObject(ambiguous);
    expect(await t.send('ECHO', { n: 1 }, { major: '1' })).toMatchObject(ambiguous);
  });

  it('pinned by product, each product serves its own', async () => {
    expect(await t.send('ECHO', { n: 2 }, { product: 'utils/echo' })).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1', data: { n: 2 } });
    expect(await t.send('ECHO', { n: 3 }, { product: 'tests/twin' })).toMatchObject({ status: 'SUCCESS', worker: 'tests-twin-1@1.0', data: { twin: { n: 3 } } });
    expect(await t.send('ECHO', { n: 4 }, { product: 'tests/twin', major: '1' })).toMatchObject({ status: 'SUCCESS', worker: 'tests-twin-1@1.0' });
  });

  it('pinned by target, the instance named serves it', async () => {
    expect(await t.send('ECHO', { n: 5 }, { target: 'tests-twin-1' })).toMatchObject({ status: 'SUCCESS', worker: 'tests-twin-1@1.0', data: { twin: { n: 5 } } });
    expect(await t.send('ECHO', { n: 6 }, { target: 'utils-echo-1' })).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1', data: { n: 6 } });
  });

  it("another product's pivot never takes a worker's extra command away", async () => {
    // utils/echo 1.1 lists VERSION in its Hello, outside its pivot; tests/twin's pivot declares VERSION.
    const list = await t.rpc.listWorkers();
    expect(list.workers.find((w) => w.identifier === 'utils-echo-1')?.commands).toEqual(expect.arrayContaining(['ECHO', 'SLOW', 'VERSION']));
    expect(await t.send('VERSION', {}, { product: 'utils/echo' })).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1', data: { version: '1.1' } });
    expect(await t.send('VERSION', {}, { product: 'tests/twin' })).toMatchObject({ status: 'SUCCESS', worker: 'tests-twin-1@1.0', data: { twin: true } });
    expect(await t.send('VERSION', {})).toMatchObject({ status: 'INVALID', error: 'AMBIGUOUS_COMMAND: VERSION is served by tests/twin, utils/echo; pin a product' });
  });

  it('a command one product serves needs no pin; a pin to a product that does not declare it is UNKNOWN_COMMAND at once', async () => {
    expect(await t.send('SLOW', { ms: 0 })).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1', data: { slept: 0 } });
    expect(await t.send('SLOW', { ms: 0 }, { product: 'tests/twin' })).toMatchObject({ status: 'NO_WORKER', error: 'UNKNOWN_COMMAND: no worker of tests/twin serves SLOW: none connected, expected or declared by a stored pivot' });
    expect(await t.send('ECHO', {}, { product: 'tests/Twin' })).toMatchObject({ status: 'INVALID', error: expect.stringMatching(/^NAME_INVALID: product "tests\/Twin" is invalid/) });
  });

  it('a product started outside the configuration counts while it runs, not once it is stopped (its stored pivot stays)', async () => {
    // tests/rolling (pivot ECHO, SLOW) is not configured.
    expect((await t.send('ADMIN_START_WORKER', { product: 'tests/rolling', version: '1.0' })).status).toBe('SUCCESS');
    expect(await t.send('SLOW', { ms: 0 })).toMatchObject({ status: 'INVALID', error: 'AMBIGUOUS_COMMAND: SLOW is served by tests/rolling, utils/echo; pin a product' });
    expect(await t.send('SLOW', { ms: 0 }, { product: 'tests/rolling' })).toMatchObject({ status: 'SUCCESS', worker: 'tests-rolling-1@1.0' });
    expect((await t.send('ADMIN_STOP_WORKER', { product: 'tests/rolling' })).data).toEqual({ stopped: ['tests-rolling-1'] });
    expect(await t.send('SLOW', { ms: 0 })).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1' });
    // Still known by its stored pivot: pinned to it, the command waits for a worker instead of NO_WORKER at once.
    expect(await t.send('SLOW', { ms: 0 }, { product: 'tests/rolling', timeoutMs: 300 })).toMatchObject({ status: 'NO_WORKER', error: expect.stringMatching(/^NO_WORKER: no READY worker took SLOW within 300 ms/) });
  });

  it('a configured product still counts when none of its workers runs', async () => {
    expect((await t.send('ADMIN_STOP_WORKER', { product: 'tests/twin' })).data).toEqual({ stopped: ['tests-twin-1'] });
    expect(await t.send('ECHO', {})).toMatchObject({ status: 'INVALID', error: 'AMBIGUOUS_COMMAND: ECHO is served by tests/twin, utils/echo; pin a product' });
    expect(await t.send('ECHO', { n: 7 }, { product: 'utils/echo' })).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1' });
  });
});
