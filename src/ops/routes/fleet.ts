// GET /api/v1/fleet: hosts, coordinator, desired vs running, rollouts and the engines' health (docs/fleet.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpsContext } from '../context.js';
import { sendDetail, sendJson } from '../http/respond.js';

/** 404 when this host is not in a fleet; with `?optional=true` (the status page) 204, which a browser does not log as an error. */
export async function getFleet(req: IncomingMessage, res: ServerResponse, ctx: OpsContext): Promise<void> {
  const status = await ctx.fleet();
  if (status !== undefined) {
    sendJson(res, 200, status);
    return;
  }
  if (new URL(req.url ?? '/', 'http://ops').searchParams.get('optional') === 'true') {
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
    return;
  }
  sendDetail(res, 404, 'this host is not part of a fleet (no fleet: section in its configuration)');
}
