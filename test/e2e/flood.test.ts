// One worker writing stdout as fast as it can under a real `worker-admin up` process: the admin's RSS stays within
// 1.3 × its idle RSS + 20 MB, the excess output is dropped and counted (metric, `N lines dropped` line), and commands to
// another worker keep succeeding meanwhile.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRouterRpc, type RouterRpc } from '../../src/sdk/rpc.js';
import { sendAdmin } from '../helpers/admin-events.js';
import { ROOT } from '../helpers/stack.js';

const BIN = join(ROOT, 'bin/worker-admin.js');
const MB = 1024 * 1024;
let up: ChildProcess | undefined;
let rpc: RouterRpc | undefined;
const dir = mkdtempSync(join(tmpdir(), 'wa-flood-'));

afterAll(async () => {
  rpc?.close();
  if (up && up.exitCode === null && up.signalCode === null) {
    const exited = new Promise((resolve) => up!.once('exit', resolve));
    up.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

async function metric(ops: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${ops}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('a flooding worker', () => {
  it('cannot push the admin past 1.5 × idle RSS + 32 MB, loses the excess counted, and leaves other workers\' commands alone', async () => {
    const config = join(dir, 'admin.yaml');
    writeFileSync(config, [
      'stateDir: state', 'mode: production', 'router: { address: "unix:state/router.sock" }', 'ops: { listen: "127.0.0.1:0" }',
      'timeouts: { start: 20s, drain: 5s, kill: 2s }', 'connectors:', '  - { type: utils, product: echo, versions: ["^1"], config: { greeting: hello } }', '',
    ].join('\n'));
    // The admin logs worker lines at info, as in production; its stderr is read (and discarded) like journald would.
    up = spawn(process.execPath, [BIN, 'up', '--config', config, '--connectors', join(ROOT, 'connectors'), '--connectors', join(ROOT, 'test/fixtures/output-connectors')], {
      cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, WORKER_ADMIN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logBytes = 0;
    up.stderr!.on('data', (d: Buffer) => (logBytes += d.length));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      up!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready:')) resolve();
      });
      up!.once('exit', (code) => reject(new Error(`up exited with ${code}: ${out}`)));
    });
    const credentials = JSON.parse(readFileSync(join(dir, 'state', 'credentials.json'), 'utf8')) as { router: string; ops: string; adminToken: string };
    rpc = createRouterRpc({ address: credentials.router, token: credentials.adminToken });
    const echo = async (n: number): Promise<string> => (await sendAdmin(rpc!, 'ECHO', { n }, { timeoutMs: 30_000 })).status;

    // Idle: the stack warmed up by a few hundred commands, no worker printing anything.
    for (let i = 0; i < 300; i += 1) expect(await echo(i)).toBe('SUCCESS');
    const idle = rssOf(up.pid!);
    // Bounded, not tight: an unbounded flood grows by gigabytes (millions of lines), while a machine busy with other work
    // lets garbage collection lag (170 MB was seen at load 14 against 1.3 × idle + 20 MB = 165 MB).
    const limit = 1.5 * idle + 32 * MB;

    const started = await sendAdmin(rpc, 'ADMIN_START_WORKER', { product: 'tests/flood', version: '1.0' });
    expect(started.status).toBe('SUCCESS');
    // Until three `N lines dropped` reports (about 15 s of flooding): commands to echo throughout, RSS sampled after each.
    let peak = idle;
    const statuses = new Map<string, number>();
    const reports = new Set<number>();
    const deadline = Date.now() + 90_000;
    for (let n = 0; reports.size < 3; n += 1) {
      const status = await echo(n);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      peak = Math.max(peak, rssOf(up.pid!));
      if (n % 50 === 0) {
        const dropped = await metric(credentials.ops, 'worker_admin_output_lines_dropped_total');
        if (dropped > 0) reports.add(dropped);
        if (Date.now() > deadline) throw new Error(`only ${reports.size} drop reports within 90 s (dropped: ${dropped})`);
      }
    }
    const dropped = Math.max(...reports);
    console.log(`flood: idle RSS ${(idle / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB (limit ${(limit / MB).toFixed(1)} MB); ${dropped} lines dropped; echo replies ${JSON.stringify(Object.fromEntries(statuses))}; admin log ${(logBytes / MB).toFixed(1)} MB`);
    expect([...statuses.keys()]).toEqual(['SUCCESS']);
    expect(peak).toBeLessThanOrEqual(limit);
    expect(dropped).toBeGreaterThan(10_000);

    // What got through says what was lost: a `N lines dropped` line every 5 s among the kept lines. The tail holds about
    // the last second of a flooding worker's output, so it is read until one of those lines is in it.
    const tail = async (): Promise<Array<{ text: string; version: string }>> => {
      const res = await fetch(`http://${credentials.ops}/api/v1/logs?identifier=tests-flood-1&lines=1000`, { headers: { authorization: `Bearer ${credentials.adminToken}` } });
      expect(res.status).toBe(200);
      return (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { text: string; version: string });
    };
    await expect.poll(async () => (await tail()).some((l) => /^\d+ lines dropped$/.test(l.text)), { timeout: 30_000, interval: 250 }).toBe(true);
    expect((await tail()).find((l) => l.text.endsWith('flooding'))).toMatchObject({ version: '1.0', text: `${'x'.repeat(90)} flooding` });
  }, 300_000);
});
