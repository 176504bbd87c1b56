// The admin's four-step start, ADMIN_* lifecycle commands, refusals and supervision, with real processes.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, startTestStack, type TestStack } from '../helpers/stack.js';

const ECHO = { type: 'utils', product: 'echo', versions: ['^1'], config: { greeting: 'hello', api_key: 'sk-secret-value-12345' } };

describe('admin lifecycle', () => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack({ connectors: [ECHO], timeouts: { start: '20s' } });
    await t.stack.admin.startConfiguredConnectors();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('starts the configured connector at the highest version in range and routes ECHO to it', async () => {
    const list = await t.send('ADMIN_LIST_WORKERS');
    expect(list.status).toBe('SUCCESS');
    const workers = (list.data as { workers: Array<Record<string, unknown>> }).workers;
    expect(workers).toEqual([expect.objectContaining({ identifier: 'utils-echo-1', product: 'utils/echo', version: '1.1', state: 'READY', restarts: 0 })]);
    const echo = await t.send('ECHO', { text: 'hi' });
    expect(echo).toMatchObject({ status: 'SUCCESS', worker: 'utils-echo-1@1.1', data: { text: 'hi' } });
  });

  it('ADMIN_START_WORKER twice with one identifier starts one process', async () => {
    const first = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.0', identifier: 'twice', params: { greeting: 'hey' } });
    expect(first.status).toBe('SUCCESS');
    const second = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.0', identifier: 'twice', params: { greeting: 'hey' } });
    expect(second.data).toMatchObject({ identifier: 'twice', version: '1.0', alreadyRunning: true, pid: (first.data as { pid: number }).pid });
    expect((first.data as { alreadyRunning: boolean }).alreadyRunning).toBe(false);
    const conflict = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.1', identifier: 'twice', params: { greeting: 'hey' } });
    expect(conflict.status).toBe('FAIL');
    expect(conflict.error).toMatch(/^IDENTIFIER_CONFLICT/);
    await t.send('ADMIN_STOP_WORKER', { identifier: 'twice' });
  });

  it('runs two identifiers of one product side by side with different params', async () => {
    const a = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', identifier: 'echo-a', params: { greeting: 'a', flavor: 'apple' } });
    const b = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', identifier: 'echo-b', params: { greeting: 'b', flavor: 'banana' } });
    expect([a.status, b.status]).toEqual(['SUCCESS', 'SUCCESS']);
    expect((a.data as { pid: number }).pid).not.toBe((b.data as { pid: number }).pid);
    expect((await t.send('ECHO', { n: 1 }, { target: 'echo-a' })).worker).toBe('echo-a@1.1');
    expect((await t.send('ECHO', { n: 2 }, { target: 'echo-b' })).worker).toBe('echo-b@1.1');
    const stopped = await t.send('ADMIN_STOP_WORKER', { product: 'utils/echo', identifier: 'echo-a' });
    expect(stopped.data).toEqual({ stopped: ['echo-a'] });
    await t.send('ADMIN_STOP_WORKER', { identifier: 'echo-b' });
    expect(alive((a.data as { pid: number }).pid)).toBe(false);
  });

  it('refuses a start with a missing mandatory key, naming the key, and leaves no process', async () => {
    const missing = await t.send('ADMIN_START_WORKER', { product: 'tests/needs-key', identifier: 'needs' });
    expect(missing.status).toBe('FAIL');
    expect(missing.error).toMatch(/^CONFIG_INVALID: key "endpoint" \(string, layer product\) is mandatory/);
    const wrongType = await t.send('ADMIN_START_WORKER', { product: 'tests/needs-key', identifier: 'needs', params: { endpoint: 'x', port: 'eighty' } });
    expect(wrongType.error).toMatch(/^CONFIG_INVALID: key "port" \(layer product\).*not of type integer/);
    const converted = await t.send('ADMIN_START_WORKER', { product: 'tests/needs-key', identifier: 'needs', params: { endpoint: 'x', port: '8081' } });
    expect(converted.status).toBe('SUCCESS');
    await t.send('ADMIN_STOP_WORKER', { identifier: 'needs' });
    const typo = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', identifier: 'typo', params: { greting: 'x' } });
    expect(typo.status).toBe('FAIL');
    expect(typo.error).toMatch(/^CONFIG_INVALID: .*"greting"/);
    const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Array<{ identifier: string }> };
    expect(list.workers.map((w) => w.identifier)).not.toContain('typo');
    expect(t.events.some((e) => e.event === 'CONFIG_INVALID' && JSON.parse(e.payload).identifier === 'typo')).toBe(true);
  });

  it('refuses a worker that lacks a pivot command (COMMANDS_MISSING) and leaves no process', async () => {
    const reply = await t.send('ADMIN_START_WORKER', { product: 'tests/missing-cmd', identifier: 'missing' });
    expect(reply.status).toBe('FAIL');
    expect(reply.error).toBe('COMMANDS_MISSING: OTHER');
    const invalid = await t.waitForEvent((e, p) => e.event === 'WORKER_INVALID' && p['identifier'] === 'missing');
    expect(invalid['reason']).toBe('COMMANDS_MISSING: OTHER');
  });

  it('stops a worker that never says Hello at startTimeout (START_TIMEOUT) and leaves no process', async () => {
    const t2 = await startTestStack({ timeouts: { start: '2s' } });
    try {
      const reply = await t2.send('ADMIN_START_WORKER', { product: 'tests/no-hello', identifier: 'silent-one' });
      expect(reply.status).toBe('FAIL');
      expect(reply.error).toMatch(/^START_TIMEOUT/);
      const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
        try {
          return readFileSync(join('/proc', pid, 'cmdline'), 'utf8').includes('--identifier\0silent-one\0');
        } catch {
          return false;
        }
      });
      expect(pids).toEqual([]);
    } finally {
      await t2.close();
    }
  });

  it('restarts a worker killed with SIGKILL: WORKER_RESTARTING, then READY with restarts = 1', async () => {
    const started = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', identifier: 'victim' });
    const pid = (started.data as { pid: number }).pid;
    const before = t.events.length;
    process.kill(pid, 'SIGKILL');
    const restarting = await t.waitForEvent((e, p) => e.event === 'WORKER_RESTARTING' && p['identifier'] === 'victim', 20_000, before);
    expect(String(restarting['reason'])).toMatch(/SIGKILL/);
    await t.waitForEvent((e, p) => e.event === 'WORKER_READY' && p['identifier'] === 'victim', 20_000, before);
    const row = ((await t.send('ADMIN_LIST_WORKERS')).data as { workers: Array<Record<string, unknown>> }).workers.find((w) => w['identifier'] === 'victim');
    expect(row).toMatchObject({ state: 'READY', restarts: 1 });
    expect(row?.['pid']).not.toBe(pid);
    expect((await t.send('ECHO', { again: true }, { target: 'victim' })).status).toBe('SUCCESS');
    await t.send('ADMIN_STOP_WORKER', { identifier: 'victim' });
  });

  it('restarts a crashed worker from its cached, verified package while the repository is down', async () => {
    const t3 = await startTestStack({ connectors: [ECHO] });
    try {
      await t3.stack.admin.startConfiguredConnectors();
      const pid = ((await t3.send('ADMIN_LIST_WORKERS')).data as { workers: Array<{ pid: number }> }).workers[0]!.pid;
      await t3.stack.repository!.close();
      const before = t3.events.length;
      process.kill(pid, 'SIGKILL');
      await t3.waitForEvent((e, p) => e.event === 'WORKER_READY' && p['identifier'] === 'utils-echo-1', 20_000, before);
      const row = ((await t3.send('ADMIN_LIST_WORKERS')).data as { workers: Array<Record<string, unknown>> }).workers[0];
      expect(row).toMatchObject({ state: 'READY', restarts: 1, version: '1.1' });
      expect((await t3.send('ECHO', { offline: true })).worker).toBe('utils-echo-1@1.1');
      // A version never fetched cannot start without the repository: refused, named.
      const fresh = await t3.send('ADMIN_START_WORKER', { product: 'utils/echo', version: '1.0', identifier: 'never-cached' });
      expect(fresh.status).toBe('FAIL');
      expect(fresh.error).toMatch(/REPOSITORY_ERROR|cannot fetch|ECONNREFUSED/);
    } finally {
      await t3.close();
    }
  });

  it('gives up on a worker that always crashes: FAILED after 5 quick crashes, WORKER_FAILED published', async () => {
    const started = await t.send('ADMIN_START_WORKER', { product: 'tests/crasher', identifier: 'crashy' });
    expect(started.status).toBe('SUCCESS');
    const failed = await t.waitForEvent((e, p) => e.event === 'WORKER_FAILED' && p['identifier'] === 'crashy');
    expect(String(failed['reason'])).toMatch(/crashed 5 times/);
    const row = ((await t.send('ADMIN_LIST_WORKERS')).data as { workers: Array<Record<string, unknown>> }).workers.find((w) => w['identifier'] === 'crashy');
    expect(row).toMatchObject({ state: 'FAILED', restarts: 4, pid: null });
  });

  it('keeps the exit code of a run-once worker (restart: never) in lastExit', async () => {
    const t2 = await startTestStack({ connectors: [{ type: 'tests', product: 'run-once', restart: 'never' }] });
    try {
      const started = await t2.send('ADMIN_START_WORKER', { product: 'tests/run-once', identifier: 'job-1' });
      expect(started.status).toBe('SUCCESS');
      await t2.waitForEvent((e, p) => e.event === 'WORKER_STOPPED' && p['identifier'] === 'job-1');
      const row = ((await t2.send('ADMIN_LIST_WORKERS')).data as { workers: Array<Record<string, unknown>> }).workers[0];
      expect(row).toMatchObject({ identifier: 'job-1', state: 'STOPPED', restarts: 0, lastExit: expect.objectContaining({ code: 7 }) });
    } finally {
      await t2.close();
    }
  });

  it('answers ADMIN_GET_WORKER and ADMIN_GET_LAST_VERSION_WORKER with the cached package', async () => {
    const got = await t.send('ADMIN_GET_WORKER', { product: 'utils/echo', version: '1.0' });
    expect(got.status).toBe('SUCCESS');
    expect(got.data).toMatchObject({ product: 'utils/echo', version: '1.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const last = await t.send('ADMIN_GET_LAST_VERSION_WORKER', { product: 'utils/echo', range: '~1.0' });
    expect(last.data).toEqual({ product: 'utils/echo', version: '1.0' });
    const none = await t.send('ADMIN_GET_LAST_VERSION_WORKER', { product: 'utils/echo', range: '^2' });
    expect(none.status).toBe('FAIL');
    expect(none.error).toMatch(/utils\/echo.*\^2/);
  });

  it('answers INVALID for a payload outside the admin pivot and for an unknown product form', async () => {
    const bad = await t.send('ADMIN_START_WORKER', { product: 'utils/echo', colour: 'red' });
    expect(bad.status).toBe('INVALID');
    expect(bad.error).toMatch(/colour/);
    const badProduct = await t.send('ADMIN_START_WORKER', { product: '../etc' });
    expect(badProduct.status).toBe('INVALID');
  });

  it('ADMIN_STOP_WORKER with nothing running is SUCCESS; ADMIN_STOP_ALL_WORKERS drains everything', async () => {
    const none = await t.send('ADMIN_STOP_WORKER', { identifier: 'nobody' });
    expect(none).toMatchObject({ status: 'SUCCESS', data: { stopped: [] } });
    const all = await t.send('ADMIN_STOP_ALL_WORKERS');
    expect((all.data as { stopped: string[] }).stopped).toContain('utils-echo-1');
    const list = (await t.send('ADMIN_LIST_WORKERS')).data as { workers: Array<{ state: string }> };
    expect(list.workers.filter((w) => w.state === 'READY')).toEqual([]);
  });
});
