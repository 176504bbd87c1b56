// The status page's charts in headless Chromium (Debian's chromium driven by playwright-core): after a burst of commands
// and a rolling update, the charts are drawn, and every point read from the DOM is the point /api/v1/series serves.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { SeriesView } from '../../src/ops/series/ring.js';
import { CHROMIUM, hasChromium, openBrowser } from './browser.js';
import { ECHO_CONNECTOR, eventually, http, startOpsStack, type OpsStack } from './helpers.js';

if (!hasChromium) console.warn(`status page charts test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
// WORKER_ADMIN_SCREENSHOT=docs/media/status-page.png writes the README's picture; by default it goes to a temp folder.
const SHOT = process.env['WORKER_ADMIN_SCREENSHOT'] ? resolve(process.env['WORKER_ADMIN_SCREENSHOT']) : join(mkdtempSync(join(tmpdir(), 'wa-shots-')), 'status-page.png');

let t: OpsStack | undefined;
let browser: BrowserContext | undefined;
const profile = mkdtempSync(join(tmpdir(), 'wa-chromium-'));
afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await t?.close();
  rmSync(profile, { recursive: true, force: true });
});

async function series(stack: OpsStack): Promise<SeriesView> {
  return (await http(stack.base, 'GET', '/api/v1/series')).body as SeriesView;
}

/** `count` commands, `parallel` at a time; returns the reply statuses seen with their counts. */
async function burst(stack: OpsStack, count: number, send: (i: number) => Promise<{ status: string }>, parallel = 40): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i += parallel) {
    const replies = await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, (_, k) => send(i + k)));
    for (const r of replies) seen[r.status] = (seen[r.status] ?? 0) + 1;
  }
  return seen;
}

describe('status page charts', () => {
  it.skipIf(!hasChromium)('draws commands/s, latency and instances with the rolling update as a band; DOM points equal /api/v1/series', async () => {
    t = await startOpsStack({ connectors: [ECHO_CONNECTOR], seriesStepMs: 1000 });
    const stack = t;
    // A generous timeout: a busy 2-core machine must not turn the burst into TIMEOUTs (NO_WORKER answers at its own pace).
    const send = (command: string, payload: string, target = ''): Promise<{ status: string }> =>
      stack.rpc.sendCommand({ command, payload, timeout_ms: target ? 5000 : 30_000, target });
    expect(await burst(stack, 400, (i) => send('ECHO', JSON.stringify({ i })))).toEqual({ SUCCESS: 400 });
    expect(await burst(stack, 20, () => send('ECHO', '{}', 'nobody-here'))).toEqual({ NO_WORKER: 20 });
    expect(await burst(stack, 10, () => send('ECHO', 'not json'))).toEqual({ INVALID: 10 });

    const update = await send('ADMIN_UPDATE', JSON.stringify({ product: 'utils/echo', version: '1.0' }));
    expect(update.status).toBe('SUCCESS');
    expect(await burst(stack, 300, (i) => send('ECHO', JSON.stringify({ i })))).toEqual({ SUCCESS: 300 });
    // The samples hold the burst, and the band of the update has its end.
    await eventually(async () => {
      const s = await series(stack);
      const band = s.bands.find((b) => b.identifier === 'utils-echo-1' && b.outcome === 'succeeded');
      return band && s.points.some((p) => p.t > band.end! && p.commands.SUCCESS > 0) ? true : undefined;
    }, 20_000, 'a point after the update band');

    const opened = await openBrowser(profile, { width: 1280, height: 1000 });
    browser = opened.browser;
    const { page, problems } = opened;
    await page.goto(`${stack.base}/`);
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
    await page.waitForSelector('#chart-commands rect.band[data-outcome="succeeded"]', { timeout: 15_000 });

    // Read what the page drew, then what the API serves now: every drawn point is served with the same value.
    // One evaluation, in one turn of the page's event loop: the page redraws every 2 s, and attributes read one by one
    // could come from two different draws.
    type Attrs = Record<string, string>;
    const raw = await page.evaluate(`(() => {
      const read = (selector, names) => [...document.querySelectorAll(selector)].map((e) => Object.fromEntries(names.map((n) => [n, e.getAttribute(n) ?? ''])));
      return {
        lines: read('#charts polyline[data-series]', ['data-series', 'data-values', 'points']),
        bands: read('#chart-commands rect.band', ['data-start', 'data-end', 'data-outcome']),
        markers: read('#chart-commands line.marker', ['data-t', 'data-kind']),
      };
    })()`) as { lines: Attrs[]; bands: Attrs[]; markers: Attrs[] };
    const drawn = {
      lines: raw.lines.map((a) => ({
        key: a['data-series']!,
        values: a['data-values']!.split(',').filter(Boolean).map((tv) => tv.split(':').map(Number) as [number, number]),
        points: a['points']!.trim().split(/\s+/).filter(Boolean).length,
      })),
      bands: raw.bands.map((a) => ({ start: Number(a['data-start']), end: a['data-end'], outcome: a['data-outcome'] })),
      markers: raw.markers.map((a) => ({ t: Number(a['data-t']), kind: a['data-kind'] })),
    };
    const served = await series(stack);
    const valueOf = (key: string, p: SeriesView['points'][number]): number | null => {
      const [group, name] = key.split('.') as [keyof SeriesView['points'][number], string];
      return (p[group] as Record<string, number | null>)[name] ?? null;
    };
    expect(drawn.lines.map((l) => l.key).sort()).toEqual([
      'commands.FAIL', 'commands.INVALID', 'commands.NO_WORKER', 'commands.SUCCESS', 'commands.TIMEOUT',
      'instances.DRAINING', 'instances.FAILED', 'instances.INVALID', 'instances.READY', 'instances.RESTARTING', 'instances.STARTING', 'instances.STOPPED',
      'latency_ms.p50', 'latency_ms.p99',
    ]);
    let compared = 0;
    for (const line of drawn.lines) {
      expect(line.points).toBe(line.values.length); // one SVG vertex per data point
      for (const [t0, v] of line.values) {
        const point = served.points.find((p) => p.t === t0);
        expect(point, `${line.key} at ${t0} is served`).toBeDefined();
        expect(v).toBe(valueOf(line.key, point!));
        compared += 1;
      }
    }
    const successes = drawn.lines.find((l) => l.key === 'commands.SUCCESS')!.values;
    expect(successes.length).toBeGreaterThanOrEqual(3);
    expect(successes.some(([, v]) => v > 0)).toBe(true); // not an empty chart
    expect(drawn.lines.find((l) => l.key === 'commands.NO_WORKER')!.values.some(([, v]) => v > 0)).toBe(true);
    expect(drawn.lines.find((l) => l.key === 'latency_ms.p99')!.values.length).toBeGreaterThan(0);
    expect(drawn.lines.find((l) => l.key === 'instances.READY')!.values.some(([, v]) => v >= 1)).toBe(true);
    const band = served.bands.find((b) => b.outcome === 'succeeded')!;
    expect(drawn.bands).toContainEqual({ start: band.start, end: String(band.end), outcome: 'succeeded' });
    const marker = served.markers.find((m) => m.kind === 'update')!;
    expect(drawn.markers).toContainEqual({ t: marker.t, kind: 'update' });
    console.log(`charts: ${compared} drawn points compared with /api/v1/series`);

    mkdirSync(dirname(SHOT), { recursive: true });
    await page.locator('#charts').scrollIntoViewIfNeeded();
    await page.screenshot({ path: SHOT, fullPage: true });
    expect(statSync(SHOT).size).toBeGreaterThan(20_000);
    console.log(`status page screenshot: ${SHOT}`);
    expect(problems).toEqual([]);
  }, 240_000);
});
