// The ops HTTP API over real HTTP against a real stack: every route and status code of docs/ops.md, bodies word for word.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../helpers/stack.js';
import { ECHO_CONNECTOR, eventually, http, postPolicies, startOpsStack, status, type OpsStack } from './helpers.js';

let t: OpsStack;
beforeAll(async () => {
  t = await startOpsStack({ connectors: [ECHO_CONNECTOR] });
});
afterAll(async () => {
  await t?.close();
});

const policyYaml = (name: string, extra = '', scope = '{ text: hi }'): string => `policies:
  ${name}:
    config:
      package: utils/echo@^1
      command: ECHO
      greeting: hello
${extra}    scope: ${scope}
`;

const policyOf = async (name: string): Promise<Record<string, unknown> | undefined> => (await status(t)).policies.find((p) => p['name'] === name);

describe('read-only routes', () => {
  it('GET /api/v1/status: version, up_time_seconds, the ADMIN_LIST_WORKERS objects, policies', async () => {
    const res = await http(t.base, 'GET', '/api/v1/status');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = res.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['version', 'up_time_seconds', 'workers', 'policies']);
    expect(body['version']).toMatch(/^\d+\.\d+\.\d+/);
    expect(body['up_time_seconds']).toBeGreaterThanOrEqual(0);
    const listed = await t.rpc.sendCommand({ command: 'ADMIN_LIST_WORKERS', payload: '{}', timeout_ms: 10_000 });
    const fromAdmin = JSON.parse(listed.payload) as { workers: Array<Record<string, unknown>> };
    const strip = (ws: Array<Record<string, unknown>>) => ws.map(({ uptimeSeconds: _u, ...w }) => w);
    expect(strip(body['workers'] as Array<Record<string, unknown>>)).toEqual(strip(fromAdmin.workers));
    expect(body['workers']).toEqual([expect.objectContaining({ identifier: 'utils-echo-1', product: 'utils/echo', version: '1.1', state: 'READY', restarts: 0 })]);
  });

  it('GET /api/v1/capabilities: loaded_modules as type/product@version and the commands they serve', async () => {
    const res = await http(t.base, 'GET', '/api/v1/capabilities');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ loaded_modules: ['utils/echo@1.1'], commands: ['ECHO', 'SLOW'] });
  });

  it('GET /api/v1/updates: the update mode of each configured connector', async () => {
    const res = await http(t.base, 'GET', '/api/v1/updates');
    expect(res.status).toBe(200);
    expect((res.body as { updates: unknown[] }).updates).toEqual([expect.objectContaining({ product: 'utils/echo', mode: 'manual', nextCheck: null })]);
  });

  it('unknown paths are 404 and wrong methods 405, both as {"detail"}', async () => {
    expect(await http(t.base, 'GET', '/api/v1/nope')).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    const wrong = await http(t.base, 'PUT', '/api/v1/status');
    expect(wrong).toMatchObject({ status: 405, body: { detail: 'Method Not Allowed' } });
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});

describe('POST /api/v1/policies refusals', () => {
  it('401 without the admin token or with a wrong one; nothing started', async () => {
    const none = await postPolicies(t, policyYaml('p401'), { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toEqual({ detail: 'admin token required: send "authorization: Bearer TOKEN"' });
    const wrong = await postPolicies(t, policyYaml('p401'), { token: 'x'.repeat(43) });
    expect(wrong).toMatchObject({ status: 401, body: { detail: 'invalid admin token' } });
    const client = await postPolicies(t, policyYaml('p401'), { token: t.stack.credentials.clientToken });
    expect(client.status).toBe(401);
    expect(await policyOf('p401')).toBeUndefined();
  });

  it('400 for another Content-Type, word for word', async () => {
    const res = await postPolicies(t, '{"policies":{}}', { type: 'application/json' });
    expect(res.status).toBe(400);
    expect(res.text).toBe(`{"detail":"invalid Content-Type. Only 'application/x-yaml' is supported"}`);
  });

  it('400 for malformed YAML, and for a body without policies', async () => {
    expect((await postPolicies(t, 'policies: [unclosed')).text).toBe('{"detail":"Invalid YAML format"}');
    expect((await postPolicies(t, 'a: 1\na: 2\n')).text).toBe('{"detail":"Invalid YAML format"}');
    for (const body of ['', 'other: 1\n', 'policies:\n', 'policies: {}\n']) {
      const res = await postPolicies(t, body);
      expect(res.status).toBe(400);
      expect(res.text).toBe('{"detail":"no policies found in request"}');
    }
  });

  it('403 for a policy without config', async () => {
    const res = await postPolicies(t, 'policies:\n  noconfig:\n    scope: { a: 1 }\n');
    expect(res.status).toBe(403);
    expect(res.text).toBe('{"detail":"config field is required"}');
  });

  it('400 naming the field for a bad schedule, package, command, dry_run or name', async () => {
    const bad = async (yaml: string): Promise<string> => {
      const res = await postPolicies(t, yaml);
      expect(res.status).toBe(400);
      return (res.body as { detail: string }).detail;
    };
    expect(await bad(policyYaml('cron1', '      schedule: "*/5 * * *"\n'))).toBe(`policy 'cron1': config.schedule: cron expression "*/5 * * *" has 4 fields, expected 5 (minute hour day-of-month month day-of-week)`);
    expect(await bad(policyYaml('cron2', '      schedule: "0 25 * * *"\n'))).toMatch(/^policy 'cron2': config\.schedule: .*hour field "25" has a bad value/);
    expect(await bad('policies:\n  nopkg:\n    config: { greeting: x }\n')).toMatch(/^policy 'nopkg': config\.package is required/);
    expect(await bad('policies:\n  badpkg:\n    config: { package: "../etc@^1" }\n')).toBe(`policy 'badpkg': config.package: type ".." is invalid: it must match ^[a-z0-9][a-z0-9_-]{0,63}$`);
    expect(await bad(policyYaml('dry', '      dry_run: "yes"\n'))).toBe(`policy 'dry': config.dry_run must be true or false, got "yes"`);
    expect(await bad('policies:\n  "bad name":\n    config: { package: utils/echo }\n')).toMatch(/^policy name: identifier "bad name" is invalid/);
    expect(await bad(policyYaml('unknownpkg').replace('utils/echo@^1', 'utils/nothing'))).toMatch(/^policy 'unknownpkg' was not started: /);
    expect((await status(t)).policies).toEqual([]);
  });
});

describe('policies', () => {
  it('201 for one policy: its instance runs under the policy name, and the one-shot command was sent once', async () => {
    const res = await postPolicies(t, policyYaml('once'));
    expect(res.status).toBe(201);
    expect(res.text).toBe(`{"detail":"policy 'once' was started"}`);
    const policy = await eventually(async () => {
      const p = await policyOf('once');
      return (p?.['runs'] as unknown[]).length > 0 ? p : undefined;
    }, 10_000, 'the one-shot run');
    expect(policy).toMatchObject({ name: 'once', package: 'utils/echo@^1', schedule: null, command: 'ECHO', dry_run: false, state: 'ACTIVE', next_run: null });
    expect(policy['runs']).toEqual([expect.objectContaining({ status: 'SUCCESS', duration_ms: expect.any(Number) })]);
    expect(JSON.stringify(policy)).not.toContain('hello'); // config values stay out of the status
    const worker = (await status(t)).workers.find((w) => w['identifier'] === 'once');
    expect(worker).toMatchObject({ product: 'utils/echo', version: '1.1', state: 'READY' });
  });

  it('409 for a name already there', async () => {
    const res = await postPolicies(t, policyYaml('once'));
    expect(res.status).toBe(409);
    expect(res.text).toBe(`{"detail":"policy 'once' already exists"}`);
  });

  it('several policies in one POST: 201 naming them all; one refused start rolls back the others', async () => {
    const two = `${policyYaml('multi-a')}${policyYaml('multi-b').replace('policies:\n', '')}`;
    const res = await postPolicies(t, two);
    expect(res.status).toBe(201);
    expect(res.text).toBe(`{"detail":"policies ['multi-a', 'multi-b'] were started"}`);

    const good = policyYaml('roll-good').replace('policies:\n', '');
    const bad = policyYaml('roll-bad').replace('policies:\n', '').replace('greeting: hello', 'greting: typo');
    const refused = await postPolicies(t, `policies:\n${good}${bad}`);
    expect(refused.status).toBe(400);
    expect((refused.body as { detail: string }).detail).toMatch(/^policy 'roll-bad' was not started: .*CONFIG_INVALID|^policy 'roll-bad' was not started: .*"greting"/);
    expect((refused.body as { detail: string }).detail).toMatch(/\(none of the 2 policies was started\)$/);
    const after = await status(t);
    expect(after.policies.map((p) => p['name'])).not.toContain('roll-good');
    const rolled = after.workers.find((w) => w['identifier'] === 'roll-good');
    expect(rolled?.['state']).toBe('STOPPED');
    expect(t.stack.admin.registry.get('roll-good')?.worker?.pid).toBeDefined();
    expect(alive(t.stack.admin.registry.get('roll-good')!.worker!.pid)).toBe(false);
    const stored = JSON.parse(readFileSync(join(t.stateDir, 'state.json'), 'utf8')) as { policies: Array<{ name: string }> };
    expect(stored.policies.map((p) => p.name).sort()).toEqual(['multi-a', 'multi-b', 'once']);
  });

  it('DELETE: 401 without token, 200 drains and stops the instance, then 404', async () => {
    const pid = (await status(t)).workers.find((w) => w['identifier'] === 'multi-a')!['pid'] as number;
    expect((await http(t.base, 'DELETE', '/api/v1/policies/multi-a')).status).toBe(401);
    const res = await http(t.base, 'DELETE', '/api/v1/policies/multi-a', { token: t.token });
    expect(res.status).toBe(200);
    expect(res.text).toBe(`{"detail":"policy 'multi-a' was deleted"}`);
    expect(alive(pid)).toBe(false);
    expect((await status(t)).workers.find((w) => w['identifier'] === 'multi-a')?.['state']).toBe('STOPPED');
    const again = await http(t.base, 'DELETE', '/api/v1/policies/multi-a', { token: t.token });
    expect(again.status).toBe(404);
    expect(again.text).toBe(`{"detail":"policy 'multi-a' not found"}`);
  });

  it('a cron policy fires when the scheduler clock reaches its time, and records each run (last 5)', async () => {
    expect((await postPolicies(t, policyYaml('cron', '      schedule: "*/5 * * * *"\n'))).status).toBe(201);
    const first = await policyOf('cron');
    expect(first).toMatchObject({ schedule: '*/5 * * * *', runs: [] });
    const start = t.clock.now(); // 00:00:30 local: the runs are at 00:05, 00:10…
    expect(first!['next_run']).toBe(new Date(start + 4 * 60_000 + 30_000).toISOString());
    for (let i = 1; i <= 6; i++) {
      await eventually(async () => (t.clock.waiting === 1 ? true : undefined), 10_000, 'the scheduler waiting');
      t.clock.advance(5 * 60_000);
      const at = new Date(t.clock.now()).toISOString();
      await eventually(async () => (((await policyOf('cron'))!['runs'] as Array<{ at: string }>).at(-1)?.at === at ? true : undefined), 10_000, `run ${i}`);
    }
    const runs = (await policyOf('cron'))!['runs'] as Array<Record<string, unknown>>;
    expect(runs.map((r) => r['at'])).toEqual([2, 3, 4, 5, 6].map((i) => new Date(start + i * 5 * 60_000).toISOString()));
    expect(runs.every((r) => r['status'] === 'SUCCESS')).toBe(true);
  });

  it('a dry-run policy reaches the worker with dry_run and writes each reply as a JSON file under {stateDir}/dry-run/{policy}/', async () => {
    expect((await postPolicies(t, policyYaml('dry-policy', '      dry_run: true\n', '{ text: dry }'))).status).toBe(201);
    const dir = join(t.stateDir, 'dry-run', 'dry-policy');
    const files = await eventually(async () => {
      try {
        const list = readdirSync(dir).filter((f) => f.endsWith('.json'));
        return list.length > 0 ? list : undefined;
      } catch {
        return undefined;
      }
    }, 10_000, 'a dry-run file');
    const out = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as Record<string, unknown>;
    expect(out).toMatchObject({ policy: 'dry-policy', command: 'ECHO', status: 'SUCCESS', worker: 'dry-policy@1.1', payload: { text: 'dry' }, error: null });
    expect((await policyOf('dry-policy'))!['dry_run']).toBe(true);
  });
});


describe('GET /metrics', () => {
  it('parses as Prometheus text, and the command counters and latency histogram move after commands', async () => {
    const before = parsePrometheus((await http(t.base, 'GET', '/metrics')).text);
    const key = 'worker_admin_commands_total{command="ECHO",status="SUCCESS"}';
    const echoes = before.samples.get(key) ?? 0;
    for (let i = 0; i < 3; i++) {
      const reply = await t.rpc.sendCommand({ command: 'ECHO', payload: '{"n":1}', timeout_ms: 5_000, target: 'utils-echo-1' });
      expect(reply.status).toBe('SUCCESS');
    }
    await t.rpc.sendCommand({ command: 'NOBODY_SERVES_THIS', payload: '{}', timeout_ms: 1_000 });
    const res = await http(t.base, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const after = parsePrometheus(res.text);
    expect(after.samples.get(key)).toBe(echoes + 3);
    expect([...after.samples.keys()].some((k) => k.startsWith('worker_admin_commands_total{command="NOBODY_SERVES_THIS"'))).toBe(true);
    expect(after.samples.get('worker_admin_command_duration_seconds_count{command="ECHO"}')).toBe((before.samples.get('worker_admin_command_duration_seconds_count{command="ECHO"}') ?? 0) + 3);
    expect(after.types.get('worker_admin_command_duration_seconds')).toBe('histogram');
    expect(after.samples.get('worker_admin_queue_size')).toBe(0);
    expect(after.samples.get('worker_admin_instances{state="READY"}')).toBe((await status(t)).workers.filter((w) => w['state'] === 'READY').length);
    expect(after.samples.get('worker_admin_instance_restarts{identifier="utils-echo-1",product="utils/echo"}')).toBe(0);
    expect(after.samples.get('worker_admin_updates_total{outcome="succeeded"}')).toBe(0);
    expect(after.samples.get('worker_admin_policy_runs_total{policy="once",status="SUCCESS"}')).toBe(1);
    for (const name of ['worker_admin_package_downloads_total', 'worker_admin_package_download_bytes_total']) expect(after.types.get(name)).toBe('counter');
    expect(after.samples.get('worker_admin_package_downloads_total{product="utils/echo"}')).toBeGreaterThanOrEqual(1);
    expect(after.samples.get('worker_admin_package_download_bytes_total{product="utils/echo"}')).toBeGreaterThan(1000);
  });
});

/** A strict reader of the Prometheus text format 0.0.4: every line is HELP, TYPE or a sample, or the test fails. */
function parsePrometheus(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(comment[3]);
        types.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    const match = sample.exec(line);
    if (!match) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return { samples, types };
}
