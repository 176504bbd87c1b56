// contrib/: the systemd unit (stop semantics, checked by systemd-analyze verify where it exists) and the Grafana
// dashboard, whose every metric name and label must exist in a real /metrics scrape of a running stack.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAdminConfigObject } from '../../src/config/admin-config.js';
import { ROOT, startTestStack, type TestStack } from '../helpers/stack.js';
import { eventually, http } from './helpers.js';

const UNIT = join(ROOT, 'contrib/systemd/worker-admin.service');
const DASHBOARD = join(ROOT, 'contrib/grafana/worker-admin.json');
const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
if (!analyze) console.warn('systemd unit check skipped: systemd-analyze is missing (apt-get install -y systemd)');

/** `Key=value` lines of the [Service] section (last one wins, as systemd reads them). */
function serviceSection(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line.trim());
    if (header) section = header[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line);
    if (kv && section === 'Service') fields.set(kv[1]!, kv[2]!);
  }
  return fields;
}

describe('systemd unit', () => {
  it('stops by SIGTERM to the admin alone (it drains), with a stop timeout above drain + kill, restarts on failure', () => {
    const unit = serviceSection(readFileSync(UNIT, 'utf8'));
    expect(unit.get('KillSignal')).toBe('SIGTERM');
    expect(unit.get('KillMode')).toBe('mixed'); // not control-group: workers get the admin's drain, not a group SIGTERM
    expect(unit.get('Restart')).toBe('on-failure');
    const defaults = parseAdminConfigObject({}, { env: {} }).timeouts;
    expect(Number(unit.get('TimeoutStopSec')) * 1000).toBeGreaterThan(defaults.drainMs + defaults.killMs);
    expect(unit.get('ExecStart')).toMatch(/worker-admin up --config /);
    // V8 needs writable + executable pages: this one would kill the admin and every Node.js worker at start.
    expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
    expect(unit.get('NoNewPrivileges')).toBe('yes');
  });

  it.skipIf(!analyze)('passes systemd-analyze verify with no warning (and the check does catch a bad unit)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-unit-'));
    try {
      const verify = (text: string): { status: number | null; out: string } => {
        const file = join(dir, 'worker-admin.service');
        writeFileSync(file, text);
        const r = spawnSync(analyze!, ['verify', file], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SYSTEMD_LOG_COLOR: '0', SYSTEMD_LOG_TARGET: 'console' } });
        return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
      };
      const text = readFileSync(UNIT, 'utf8');
      expect(verify(text)).toEqual({ status: 0, out: '' });
      expect(verify(text.replace(/^KillMode=mixed$/m, 'KillMode=everything')).out).toMatch(/kill mode/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Metric names and label names a PromQL expression uses. */
function promqlUses(expr: string): { metrics: string[]; labels: string[] } {
  const metrics = [...new Set(expr.match(/\bworker_admin_[a-z_]+\b/g) ?? [])];
  const labels = new Set<string>();
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) for (const l of m[1]!.split(',')) if (l.trim()) labels.add(l.trim());
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) for (const l of m[1]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) labels.add(l[1]!);
  for (const m of expr.matchAll(/label_values\(\s*[^,]+,\s*(\w+)\s*\)/g)) labels.add(m[1]!);
  return { metrics, labels: [...labels] };
}

describe('Grafana dashboard', () => {
  let t: TestStack | undefined;
  afterAll(async () => {
    await t?.close();
  });

  it('queries only metric names and labels that a real /metrics scrape has', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
      templating: { list: Array<{ query: unknown }> };
      annotations: { list: Array<{ expr?: string }> };
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => target.expr)),
      ...dashboard.templating.list.map((v) => (typeof v.query === 'object' && v.query !== null ? (v.query as { query: string }).query : String(v.query))),
      ...dashboard.annotations.list.flatMap((a) => (a.expr ? [a.expr] : [])),
    ].filter((e) => e.includes('worker_admin_'));
    expect(exprs.length).toBeGreaterThan(10);

    // A stack that has done everything the dashboard shows: commands, an update, a policy run, output dropped by the limit.
    t = await startTestStack({ mode: 'production' });
    const stack = t;
    const ops = `http://${stack.stack.ops.address}`;
    const started = await stack.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.0', params: { greeting: 'hi' } });
    expect(started, started.error).toMatchObject({ status: 'SUCCESS' });
    expect((await stack.send('ECHO', { a: 1 })).status).toBe('SUCCESS');
    const update = await stack.send('ADMIN_UPDATE', { product: 'utils/echo' });
    expect(update, update.error).toMatchObject({ status: 'SUCCESS' });
    const policy = await fetch(`${ops}/api/v1/policies`, {
      method: 'POST', headers: { 'content-type': 'application/x-yaml', authorization: `Bearer ${stack.stack.credentials.adminToken}` },
      body: 'policies:\n  dash-policy:\n    config: { package: utils/echo@^1, command: ECHO, greeting: hi }\n    scope: { x: 1 }\n',
    });
    expect(policy.status).toBe(201);
    // A run whose output the rate limit drops (the limiter itself is tested on its own; here: the metric it feeds).
    const noisy = stack.stack.admin.output;
    const sink = noisy.openRun({ identifier: 'dash-noisy', version: '1.0', product: 'tests/chatty' });
    for (let i = 0; i < 20_000; i += 1) if (sink.admit()) sink.line('stdout', `line ${i}`);
    sink.closed(); // reports the dropped lines now
    const scrape = await eventually(async () => {
      const text = (await http(ops, 'GET', '/metrics')).text;
      return /^worker_admin_policy_runs_total\{/m.test(text) ? text : undefined;
    }, 15_000, 'a policy run in /metrics');

    const samples = scrape.split('\n').filter((l) => l.startsWith('worker_admin_'));
    const labelsOf = (metric: string): Set<string> => new Set(samples
      .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
      .flatMap((l) => [...(/\{([^}]*)\}/.exec(l)?.[1] ?? '').matchAll(/(\w+)="/g)].map((m) => m[1]!)));
    for (const expr of exprs) {
      const { metrics, labels } = promqlUses(expr);
      expect(metrics.length, expr).toBeGreaterThan(0);
      for (const metric of metrics) expect(samples.some((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)), `${metric} (in ${expr}) is scraped`).toBe(true);
      const known = new Set(metrics.flatMap((m) => [...labelsOf(m)]));
      for (const label of labels) expect(known.has(label), `label ${label} of ${metrics.join(', ')} (in ${expr})`).toBe(true);
    }
  });
});
