// GET /api/v1/fleet: hosts (live, lost, leaving, silent), their instances and the engines' health (docs/fleet.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpsContext } from '../context.js';
import { sendDetail, sendJson } from '../http/respond.js';

export async function getFleet(_req: IncomingMessage, res: ServerResponse, ctx: OpsContext): Promise<void> {
  const status = await ctx.fleet();
  if (status === undefined) sendDetail(res, 404, 'this host is not part of a fleet (no fleet: section in its configuration)');
  else sendJson(res, 200, status);
}
