// POST /api/v1/policies and DELETE /api/v1/policies/{name}: admin token, then the orb worker's bodies and codes (docs/ops.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpsContext } from '../context.js';
import { readBody, sendDetail } from '../http/respond.js';
import { checkContentType, parsePolicies } from '../policies/parse.js';

/** Starts the policies of a YAML body, all or none → 201 `policy 'a' was started` / `policies ['a', 'b'] were started`. */
export async function postPolicies(req: IncomingMessage, res: ServerResponse, ctx: OpsContext): Promise<void> {
  ctx.auth.require(req);
  checkContentType(req.headers['content-type']);
  const specs = parsePolicies(await readBody(req, ctx.limits.yamlBytes), ctx.limits);
  await ctx.policies.add(specs);
  const names = specs.map((s) => s.name);
  const detail = names.length === 1
    ? `policy '${names[0]}' was started`
    : `policies [${names.map((n) => `'${n}'`).join(', ')}] were started`;
  sendDetail(res, 201, detail);
}

/** Drains and stops the policy's instance and forgets the policy → 200 `policy 'NAME' was deleted`, or 404. */
export async function deletePolicy(req: IncomingMessage, res: ServerResponse, ctx: OpsContext, name: string): Promise<void> {
  ctx.auth.require(req);
  await ctx.policies.remove(name);
  sendDetail(res, 200, `policy '${name}' was deleted`);
}
