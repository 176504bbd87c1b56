// The status page's Fleet section in headless Chromium (Debian's chromium driven by playwright-core), served by a real
// ops server whose fleet source returns a status built here: hosts with the coordinator, counts per host and version,
// desired vs running, the rollout in progress batch by batch, and nothing of it when the host is not in a fleet.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium, openBrowser } from './browser.js';
import { echoRollout, fleetStatus } from './fleet-fixture.js';
import { startFleetOps, type FleetOps } from './fleet-ops.js';
import { http, startOpsStack, type OpsStack } from './helpers.js';

if (!hasChromium) console.warn(`status page fleet test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

let t: OpsStack;
let f: FleetOps;
let browser: BrowserContext | undefined;
const profile = mkdtempSync(join(tmpdir(), 'wa-chromium-'));
const shots = mkdtempSync(join(tmpdir(), 'wa-screenshots-'));

beforeAll(async () => {
  t = await startOpsStack();
  f = await startFleetOps(t);
});
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await f?.ops.close();
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

/** A new page (the browser opened on first use) whose page errors and console errors are collected. */
async function freshPage(): Promise<{ page: Page; problems: string[] }> {
  if (!browser) {
    const opened = await openBrowser(profile, { width: 1400, height: 1000 });
    browser = opened.browser;
    return opened;
  }
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

/** The text of every cell of each row of a table body, read in one turn of the page's event loop. */
function rows(page: Page, selector: string): Promise<string[][]> {
  return page.evaluate(`[...document.querySelectorAll(${JSON.stringify(`${selector} tr`)})].map((tr) => [...tr.querySelectorAll('th, td')].map((c) => c.textContent ?? ''))`);
}

describe('GET /api/v1/fleet', () => {
  it('404 off a fleet, 204 with ?optional=true (the page), the status as JSON on a fleet host', async () => {
    f.fleet = undefined;
    const plain = await http(f.base, 'GET', '/api/v1/fleet');
    expect(plain.status).toBe(404);
    expect(plain.body).toEqual({ detail: 'this host is not part of a fleet (no fleet: section in its configuration)' });
    const optional = await http(f.base, 'GET', '/api/v1/fleet?optional=true');
    expect(optional.status).toBe(204);
    expect(optional.text).toBe('');
    f.fleet = fleetStatus();
    for (const path of ['/api/v1/fleet', '/api/v1/fleet?optional=true']) {
      const served = await http(f.base, 'GET', path);
      expect(served.status).toBe(200);
      expect(served.body).toEqual(fleetStatus());
    }
  });
});

describe('status page: fleet', () => {
  it.skipIf(!hasChromium)('shows hosts with the coordinator, instances per host and version, desired vs running and the rollout batch by batch; follows changes', async () => {
    f.fleet = fleetStatus();
    const { page, problems } = await freshPage();
    await page.goto(`${f.base}/`);
    await page.waitForSelector('body[data-fleet="shown"]', { timeout: 15_000 });
    expect(await page.locator('#fleet').isVisible()).toBe(true);
    const meta = await page.locator('#fleet-meta').textContent();
    expect(meta).toContain('seen from host-a (LIVE)');
    expect(meta).toMatch(/coordinator host-b since \S/);
    expect(meta).toContain('NATS connected · etcd reachable');

    const hosts = await rows(page, '#fleet-hosts');
    expect(hosts.map((r) => r.slice(0, 5))).toEqual([
      ['host-a', 'live', 'zone=eu-1', '—', '3'],
      ['host-b (coordinator)', 'live · draining', 'zone=eu-1, disk=ssd', '4', '3'],
      ['host-c', 'lost', 'zone=eu-2', '2', '0'],
    ]);
    expect(hosts[1]!.slice(5)).toEqual(['0.1.0', '10.0.0.12:50051', '10.0.0.12:8071']);
    expect(await page.locator('#fleet-hosts tr', { hasText: 'host-c' }).locator('td.st-bad').count()).toBe(1);

    // host × version: how many each host runs, the ones not READY named
    expect(await rows(page, '#fleet-matrix-head')).toEqual([['Host', 'utils/echo 1.1', 'utils/echo 1.2']]);
    expect(await rows(page, '#fleet-matrix')).toEqual([
      ['host-a', '1', '2'],
      ['host-b', '2', '1 (1 STARTING)'],
      ['host-c', '', ''],
      ['all hosts', '3', '3 (1 STARTING)'],
    ]);

    expect(await rows(page, '#fleet-desired')).toEqual([
      ['utils/echo', '6', '5', '1.1 ×3, 1.2 ×2', '1 of 6 utils/echo: no live host matches {zone: eu-1} with room'],
      ['mail/smtp', '2', '0', '—', '2 of 2 mail/smtp: no live host matches {zone: eu-2}'],
    ]);

    // the rollout in progress first, then the last finished one with its state and reason
    const rollouts = await rows(page, '#fleet-rollouts');
    expect(rollouts.map((r) => [r[0], r[1], r[2], r[3], r[6]])).toEqual([
      ['utils/echo', '1.1 → 1.2', 'BATCH', 'batch 1 (2 of 3)', ''],
      ['mail/smtp', '2.0 → 2.1', 'ROLLED_BACK', '2 batch(es)', 'mail-smtp-2-1 FAILED: CONFIG_INVALID: port on host-c'],
    ]);
    expect(rollouts[0]![5]).toBe('—'); // not ended
    expect(await page.locator('#fleet-batches table').count()).toBe(1); // only the one in progress
    const batches = page.locator('#fleet-batches table[data-rollout="r-echo-12"]');
    expect(await batches.locator('caption').textContent()).toBe('utils/echo 1.1 → 1.2 · BATCH · batch 1 (2 of 3)');
    expect(await rows(page, '#fleet-batches table[data-rollout="r-echo-12"] tbody')).toEqual([
      ['canary', 'done', 'utils-echo-1-1 on host-a: healthy'],
      ['batch 1', 'in progress', 'utils-echo-1-2 on host-a: healthyutils-echo-1-3 on host-b: moving'],
      ['batch 2', 'waiting', 'utils-echo-1-4 on host-b: pendingutils-echo-1-5 on host-a: pending'],
    ]);
    expect(await batches.locator('tr.current').getAttribute('data-batch')).toBe('1');
    expect(await batches.locator('[data-identifier="utils-echo-1-3"]').getAttribute('class')).toBe('instance rs-moving');
    const shot = join(shots, 'status-page-fleet.png');
    await page.locator('#fleet').scrollIntoViewIfNeeded();
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.log(`status page fleet screenshot: ${shot}`);

    // The next batch, host-a fenced, host-b uncordoned, a new coordinator: the page follows without a reload.
    const next = fleetStatus();
    const rollout = echoRollout();
    rollout.batch = 2;
    rollout.instances['utils-echo-1-3']!.state = 'healthy';
    rollout.instances['utils-echo-1-4']!.state = 'moving';
    next.rollouts = [rollout];
    next.state = 'FENCED';
    next.coordinator = { host: 'host-a', since: Date.now() };
    next.hosts[1]!.cordon = 'cordon';
    f.fleet = next;
    await expect.poll(() => batches.locator('tr.current').getAttribute('data-batch'), { timeout: 10_000 }).toBe('2');
    expect((await rows(page, '#fleet-hosts')).map((r) => r.slice(0, 2))).toEqual([
      ['host-a (coordinator)', 'fenced'], ['host-b', 'live · cordoned'], ['host-c', 'lost'],
    ]);
    expect((await rows(page, '#fleet-rollouts')).map((r) => r[3])).toEqual(['batch 2 (3 of 3)']);
    expect(await rows(page, '#fleet-batches tbody')).toEqual([
      ['canary', 'done', 'utils-echo-1-1 on host-a: healthy'],
      ['batch 1', 'done', 'utils-echo-1-2 on host-a: healthyutils-echo-1-3 on host-b: healthy'],
      ['batch 2', 'in progress', 'utils-echo-1-4 on host-b: movingutils-echo-1-5 on host-a: pending'],
    ]);

    // It ends: no batches shown any more, the rollout's final state instead.
    rollout.state = 'SUCCEEDED';
    rollout.endedAt = Date.now();
    f.fleet = { ...next, rollouts: [rollout], coordinator: null };
    await expect.poll(() => page.locator('#fleet-batches table').count(), { timeout: 10_000 }).toBe(0);
    expect((await rows(page, '#fleet-rollouts')).map((r) => [r[0], r[2], r[3]])).toEqual([['utils/echo', 'SUCCEEDED', '3 batch(es)']]);
    expect(await page.locator('#fleet-meta').textContent()).toContain('no coordinator elected');

    // The host leaves the fleet: the section goes.
    f.fleet = undefined;
    await page.waitForSelector('body[data-fleet="none"]', { timeout: 10_000 });
    expect(await page.locator('#fleet').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  }, 120_000);

  it.skipIf(!hasChromium)('shows nothing fleet-related on a single host, and logs no error for it', async () => {
    f.fleet = undefined;
    const { page, problems } = await freshPage();
    await page.goto(`${t.base}/`); // the stack's own ops API: no fleet source at all
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
    await page.waitForSelector('body[data-fleet="none"]', { timeout: 15_000 });
    const text = await page.locator('body').innerText();
    expect(text).toContain('Instances');
    expect(text).not.toMatch(/fleet|coordinator|rollout|host-/i);
    expect(await page.locator('#fleet').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);
});
