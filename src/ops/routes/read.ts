// The read-only routes: status, capabilities, update modes, last events, metrics (no token: loopback by default, no secrets).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpsContext } from '../context.js';
import { sendJson, sendText } from '../http/respond.js';

/** GET /api/v1/status → {version, up_time_seconds, workers, policies} (docs/ops.md). */
export function getStatus(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): void {
  sendJson(res, 200, {
    version: ctx.version,
    up_time_seconds: Math.max(0, Math.floor((ctx.now() - ctx.startedAt) / 1000)),
    workers: ctx.workers(),
    policies: ctx.policies.views(),
  });
}

/** GET /api/v1/capabilities → {loaded_modules: ["type/product@version"…], commands: […]}. */
export function getCapabilities(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): void {
  sendJson(res, 200, ctx.capabilities());
}

/** GET /api/v1/updates → {updates: [{product, mode, range, interval_seconds, at, next_check}]}. */
export function getUpdates(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): void {
  sendJson(res, 200, { updates: ctx.updates() });
}

/** GET /api/v1/events → {events: [{at, event, payload}]}: the last admin events, newest last. */
export function getEvents(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): void {
  sendJson(res, 200, { events: ctx.events() });
}

/** GET /metrics → Prometheus text. */
export async function getMetrics(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): Promise<void> {
  const { contentType, text } = await ctx.metrics.scrape();
  sendText(res, 200, contentType, text);
}
