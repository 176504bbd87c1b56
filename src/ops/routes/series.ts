// GET /api/v1/series: the admin's samples of the last 15 minutes, the data the status page draws (docs/ops.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpsContext } from '../context.js';
import { sendJson } from '../http/respond.js';

/** → {step_seconds, window_seconds, now, points: […], markers: […], bands: […]}. */
export function getSeries(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): void {
  sendJson(res, 200, ctx.series());
}
