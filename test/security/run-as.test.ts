// runAs: a connector run as `nobody` (needs root): the worker's uid is nobody's, and it still reaches the router and serves.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lookupUser } from '../../src/process/user.js';
import { createRouterRpc } from '../../src/sdk/rpc.js';
import { startPartsStack, type PartsStack } from './stack.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('skipped: runAs needs the tests to run as root (spawning as another user needs CAP_SETUID)');

let stack: PartsStack | undefined;
afterAll(async () => {
  await stack?.close();
});

describe.skipIf(!isRoot)('runAs: nobody', () => {
  it('runs the worker as nobody; it connects through the 0660 socket and serves', async () => {
    const nobody = lookupUser('nobody');
    stack = await startPartsStack({ connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' }, runAs: 'nobody' }] });
    const [worker] = stack.admin.registry.statuses();
    expect(worker).toMatchObject({ identifier: 'utils-echo-1', state: 'READY' });
    const status = readFileSync(`/proc/${worker!.pid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\s+${nobody.uid}\\s+${nobody.uid}\\s+${nobody.uid}`, 'm'));
    expect(status).toMatch(new RegExp(`^Gid:\\s+${nobody.gid}\\s`, 'm'));

    const socket = statSync(join(stack.dir, 'router.sock'));
    expect([socket.mode & 0o777, socket.gid]).toEqual([0o660, nobody.gid]);
    const stateDir = statSync(stack.dir);
    expect([stateDir.mode & 0o777, stateDir.gid]).toEqual([0o710, nobody.gid]);
    // The unpacked code stays root's: the worker can read it, not rewrite it.
    const code = statSync(join(stack.dir, 'workers/utils/echo/1.1/worker.mjs'));
    expect([code.uid, code.mode & 0o777]).toEqual([0, 0o644]);
    expect(stack.logs()).not.toMatch(/workers \(downloaded code\) run as root/);

    const rpc = createRouterRpc({ address: stack.router.address, token: stack.clientToken });
    try {
      const reply = await rpc.sendCommand({ command: 'ECHO', payload: '{"as":"nobody"}', timeout_ms: 10_000 });
      expect(reply).toMatchObject({ status: 'SUCCESS', payload: '{"as":"nobody"}', worker: 'utils-echo-1@1.1' });
    } finally {
      rpc.close();
    }
  });
});
