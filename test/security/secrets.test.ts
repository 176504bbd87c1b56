// No secret leaks: every worker's /proc cmdline and environ, every log line (admin, router, workers' output, log files),
// every event and ADMIN_LIST_WORKERS are scanned for the tokens (admin, client, each one-time stdin token) and the
// `secret: true` key values, and none is found.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { SpawnRequest, WorkerSpawner } from '../../src/admin/ports.js';
import { createProcessSpawner } from '../../src/admin/spawner.js';
import { createLogger } from '../../src/common/log.js';
import type { Event } from '../../src/proto/types.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { leaks, processPlaces } from './scan.js';
import { startPartsStack, type PartsStack } from './stack.js';

const SECRET_CONFIG = 'sk-config-SECRET-never-leak-7f3a91';
const SECRET_PARAM = 'sk-param-SECRET-never-leak-c02e55';

let stack: PartsStack | undefined;
let rpc: RouterRpc | undefined;
afterAll(async () => {
  rpc?.close();
  await stack?.close();
});

/** The real spawner, observed: the stdin lines it writes are where the one-time tokens are. */
function observedSpawner(lines: SpawnRequest[], sink: Writable): WorkerSpawner {
  const logger = createLogger('workers', { level: 'debug', destination: sink });
  const real = createProcessSpawner({ logger });
  return { spawn: (request) => (lines.push(request), real.spawn(request)), stop: (w, ms) => real.stop(w, ms) };
}

describe('secrets', () => {
  it('appear in no argv, environment, log line, event or listing', async () => {
    const requests: SpawnRequest[] = [];
    let workerOutput = '';
    const sink = new Writable({ write(chunk, _e, done) { workerOutput += String(chunk); done(); } });
    stack = await startPartsStack({
      connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello', api_key: SECRET_CONFIG } }],
      admin: { spawner: observedSpawner(requests, sink) },
    });
    rpc = createRouterRpc({ address: stack.router.address, token: stack.adminToken });
    const events: Event[] = [];
    const watch = rpc.watchEvents({ topics: [] });
    watch.on('data', (e: Event) => events.push(e));
    watch.on('error', () => undefined);
    await new Promise((resolve) => watch.once('metadata', resolve));

    // A second instance with a secret in its params, a refused start naming the secret key, a crash and its restart.
    const started = await rpc.sendCommand({ command: 'ADMIN_START_WORKER', payload: JSON.stringify({ product: 'utils/echo', identifier: 'echo-b', params: { api_key: SECRET_PARAM } }), timeout_ms: 30_000 });
    expect(started.status).toBe('SUCCESS');
    const refused = await rpc.sendCommand({ command: 'ADMIN_START_WORKER', payload: JSON.stringify({ product: 'utils/echo', identifier: 'echo-c', params: { api_key: 42 } }), timeout_ms: 30_000 });
    expect(refused.status).toBe('FAIL');
    const victim = stack.admin.registry.get('echo-b')!.worker!.pid;
    process.kill(victim, 'SIGKILL');
    await expect.poll(() => stack!.admin.registry.get('echo-b')?.status(), { timeout: 15_000 }).toMatchObject({ state: 'READY', restarts: 1 });
    const echo = await rpc.sendCommand({ command: 'ECHO', payload: '{"text":"hi"}', timeout_ms: 10_000 });
    expect(echo.status).toBe('SUCCESS');
    const listing = await rpc.sendCommand({ command: 'ADMIN_LIST_WORKERS', payload: '{}', timeout_ms: 10_000 });
    watch.cancel();

    // What must never show: both bearer tokens, every one-time token written on stdin, the secret key values.
    const tokens = requests.map((r) => (JSON.parse(r.stdinLine) as { token: string }).token);
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    for (const r of requests) expect(JSON.parse(r.stdinLine)).toMatchObject({ config: { api_key: expect.any(String) } });
    const secrets = [stack.adminToken, stack.clientToken, ...tokens, SECRET_CONFIG, SECRET_PARAM];

    const places: Array<[string, string]> = [];
    const workers = (JSON.parse(listing.payload) as { workers: Array<{ identifier: string; pid: number | null }> }).workers;
    expect(workers.filter((w) => w.pid !== null)).toHaveLength(2);
    for (const w of workers) {
      if (w.pid !== null) places.push(...(await processPlaces(w.identifier, w.pid)));
    }
    places.push(['logs', stack.logs()], ['worker output', workerOutput], ['events', JSON.stringify(events)], ['ADMIN_LIST_WORKERS', listing.payload]);
    places.push(['replies', JSON.stringify([started, refused, echo])]);
    const logFiles = ((): string[] => { try { return readdirSync(join(stack.dir, 'logs')); } catch { return []; } })();
    for (const file of logFiles) places.push([`logs/${file}`, readFileSync(join(stack.dir, 'logs', file), 'utf8')]);
    expect(stack.logs()).toMatch(/worker registered/); // the capture did see the run
    expect(leaks(places, secrets)).toEqual([]);
  });
});
