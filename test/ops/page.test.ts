// The status page at GET / in headless Chromium (Debian's chromium driven by playwright-core), with a screenshot.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium, openBrowser } from './browser.js';
import { ECHO_CONNECTOR, http, postPolicies, startOpsStack, type OpsStack } from './helpers.js';

if (!hasChromium) console.warn(`status page browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

let t: OpsStack | undefined;
let browser: BrowserContext | undefined;
const profile = mkdtempSync(join(tmpdir(), 'wa-chromium-'));
const shots = mkdtempSync(join(tmpdir(), 'wa-screenshots-'));
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

describe('status page', () => {
  it('is one HTML file whose script is allowed by its hash, and nothing else', async () => {
    t ??= await startOpsStack({ connectors: [ECHO_CONNECTOR] });
    const res = await http(t.base, 'GET', '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+=*'; .*connect-src 'self'/);
    expect(res.text).toMatch(/^<!doctype html>/);
    expect(res.text).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)/); // self-contained
  });

  it.skipIf(!hasChromium)('shows instances, versions, states, update mode, policies and last events, and refreshes itself', async () => {
    t ??= await startOpsStack({ connectors: [ECHO_CONNECTOR] });
    const opened = await openBrowser(profile, { width: 1280, height: 900 });
    browser = opened.browser;
    const { page, problems } = opened;
    await page.goto(`${t.base}/`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
    const workers = page.locator('#workers tr', { hasText: 'utils-echo-1' });
    await expect.poll(() => workers.textContent(), { timeout: 10_000 }).toMatch(/utils-echo-1.*utils\/echo.*1\.1.*READY/);
    expect(await page.locator('#updates').textContent()).toContain('manual');
    expect(await page.locator('#version').textContent()).toMatch(/^\d+\.\d+\.\d+/);

    // Something happens after the page loaded: it shows up without a reload.
    const created = await postPolicies(t, 'policies:\n  page-policy:\n    config: { package: utils/echo@^1, command: ECHO, greeting: hi }\n    scope: { a: 1 }\n');
    expect(created.status).toBe(201);
    await expect.poll(() => page.locator('#policies').textContent(), { timeout: 10_000 }).toMatch(/page-policy.*utils\/echo@\^1.*once.*ECHO.*ACTIVE.*SUCCESS/);
    await expect.poll(() => page.locator('#workers').textContent(), { timeout: 10_000 }).toMatch(/page-policy.*READY/);
    await expect.poll(() => page.locator('#events').textContent(), { timeout: 10_000 }).toMatch(/WORKER_READY.*page-policy/);

    const shot = join(shots, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.log(`status page screenshot: ${shot}`);
    expect(problems).toEqual([]);
  });
});
