// maxMemory: a worker whose RSS goes over its connector's limit is restarted like a crash, WORKER_RESTARTING saying why.
import { afterAll, describe, expect, it } from 'vitest';
import type { Event } from '../../src/proto/types.js';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { startPartsStack, type PartsStack } from './stack.js';

let stack: PartsStack | undefined;
let rpc: RouterRpc | undefined;
afterAll(async () => {
  rpc?.close();
  await stack?.close();
});

describe('maxMemory', () => {
  it('restarts a worker over maxMemory with a MEMORY_LIMIT reason, and the new one serves', async () => {
    stack = await startPartsStack({
      connectors: [{ type: 'tests', product: 'hog', versions: ['1.0'], maxMemory: '150MiB' }],
      admin: { memorySampleMs: 100 },
    });
    rpc = createRouterRpc({ address: stack.router.address, token: stack.adminToken });
    const events: Event[] = [];
    const watch = rpc.watchEvents({ topics: ['admin'] });
    watch.on('data', (e: Event) => events.push(e));
    watch.on('error', () => undefined);
    await new Promise((resolve) => watch.once('metadata', resolve));
    const first = stack.admin.registry.statuses()[0]!;
    expect(first).toMatchObject({ identifier: 'tests-hog-1', state: 'READY', restarts: 0 });

    const grown = await rpc.sendCommand({ command: 'HOG', payload: '{"mib":200}', timeout_ms: 10_000 });
    expect(grown.status).toBe('SUCCESS');
    await expect.poll(() => events.find((e) => e.event === 'WORKER_RESTARTING')?.payload, { timeout: 10_000 }).toBeDefined();
    const restarting = JSON.parse(events.find((e) => e.event === 'WORKER_RESTARTING')!.payload) as { reason: string };
    expect(restarting.reason).toMatch(/^MEMORY_LIMIT: RSS \d+\.\d MiB over maxMemory 150\.0 MiB; restarting in \d+ ms$/);
    await expect.poll(() => stack!.admin.registry.statuses()[0], { timeout: 15_000 }).toMatchObject({ state: 'READY', restarts: 1 });
    expect(stack.admin.registry.statuses()[0]!.pid).not.toBe(first.pid);
    expect(stack.logs()).toMatch(/worker over its maxMemory: restarting it/);
    expect((await rpc.sendCommand({ command: 'HOG', payload: '{"mib":1}', timeout_ms: 10_000 })).status).toBe('SUCCESS');
    watch.cancel();
  });
});
