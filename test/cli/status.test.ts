// `worker-admin status` as a user runs it (node bin/worker-admin.js) against a real stack's ops API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner } from '../helpers/cli.js';
import { eventually, postPolicies, startOpsStack, status, type OpsStack } from '../ops/helpers.js';

let t: OpsStack;
const runner = cliRunner(() => t.stateDir);
const cli = (args: string[]) => runner.run(args);

beforeAll(async () => {
  t = await startOpsStack({
    connectors: [{ type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello' }, update: { mode: 'planned', at: '03:00' } }],
  });
  expect((await postPolicies(t, 'policies:\n  nightly:\n    config: { package: utils/echo@^1, command: ECHO, greeting: hi, schedule: "0 3 * * *" }\n')).status).toBe(201);
  await eventually(async () => ((await status(t)).workers.some((w) => w['identifier'] === 'nightly' && w['state'] === 'READY') ? true : undefined));
});
afterAll(async () => {
  runner.kill();
  await t?.close();
});

describe('worker-admin status', () => {
  it('reads the ops address from credentials.json and prints instances, update mode with next check, and policies', async () => {
    const run = await cli(['status', '--state-dir', t.stateDir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^worker-admin \\d+\\.\\d+\\.\\d+ · ops ${t.stack.ops.address.replace(/\./g, '\\.')} · up \\d+s$`));
    expect(run.stdout).toMatch(/^INSTANCE\s+PRODUCT\s+VERSION\s+STATE\s+PID\s+RESTARTS\s+UPTIME\s+NOTE$/m);
    const pid = t.stack.admin.registry.get('utils-echo-1')!.worker!.pid;
    expect(run.stdout).toMatch(new RegExp(`^utils-echo-1\\s+utils/echo\\s+1\\.1\\s+READY\\s+${pid}\\s+0\\s+`, 'm'));
    expect(run.stdout).toMatch(/^nightly\s+utils\/echo\s+1\.1\s+READY\s+\d+\s+0/m);
    expect(run.stdout).toMatch(/^PRODUCT\s+MODE\s+RANGE\s+INTERVAL\/AT\s+NEXT CHECK$/m);
    expect(run.stdout).toMatch(/^utils\/echo\s+planned\s+-\s+03:00\s+\d{4}-\d\d-\d\d 03:00:00$/m);
    expect(run.stdout).toMatch(/^nightly\s+utils\/echo@\^1\s+0 3 \* \* \*\s+ECHO\s+ACTIVE\s+never\s+\d{4}-\d\d-\d\d 03:00:00$/m);
  });

  it('--ops ADDR wins over the state dir; an unreachable ops API is exit 1 naming the address', async () => {
    const direct = await cli(['status', '--ops', t.stack.ops.address, '--state-dir', '/nonexistent']);
    expect(direct.code).toBe(0);
    expect(direct.stdout).toContain('utils-echo-1');
    const down = await cli(['status', '--ops', '127.0.0.1:1']);
    expect(down.code).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(/^worker-admin status: ADDRESS_INVALID: cannot reach the ops API at 127\.0\.0\.1:1: ECONNREFUSED/);
    const usage = await cli(['status', 'extra']);
    expect(usage.code).toBe(2);
  });
});
