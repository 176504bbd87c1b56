// The ops HTTP server on node:http: a fixed route table, JSON refusals, 404/405 for the rest.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../common/log.js';
import type { OpsContext } from './context.js';
import { sendDetail, sendError, sendText } from './http/respond.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './page/status-page.js';
import { getFleet } from './routes/fleet.js';
import { deletePolicy, postPolicies } from './routes/policies.js';
import { getLogs } from './routes/logs.js';
import { getSeries } from './routes/series.js';
import { getCapabilities, getEvents, getMetrics, getStatus, getUpdates } from './routes/read.js';

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: OpsContext, param: string) => void | Promise<void>;

interface Route {
  path: string | RegExp;
  methods: Partial<Record<'GET' | 'POST' | 'DELETE', Handler>>;
}

const getPage: Handler = (_req, res) => sendText(res, 200, 'text/html; charset=utf-8', STATUS_PAGE_HTML, {
  'content-security-policy': STATUS_PAGE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
});

const ROUTES: readonly Route[] = [
  { path: '/', methods: { GET: getPage } },
  { path: '/api/v1/status', methods: { GET: getStatus } },
  { path: '/api/v1/capabilities', methods: { GET: getCapabilities } },
  { path: '/api/v1/updates', methods: { GET: getUpdates } },
  { path: '/api/v1/events', methods: { GET: getEvents } },
  { path: '/api/v1/series', methods: { GET: getSeries } },
  { path: '/api/v1/logs', methods: { GET: getLogs } },
  { path: '/api/v1/policies', methods: { POST: postPolicies } },
  { path: /^\/api\/v1\/policies\/([^/]+)$/, methods: { DELETE: deletePolicy } },
  { path: '/api/v1/fleet', methods: { GET: getFleet } },
  { path: '/metrics', methods: { GET: getMetrics } },
];

/** An http.Server answering the ops routes with `ctx`. */
export function createOpsServer(ctx: OpsContext, logger: Logger): Server {
  const server = createServer((req, res) => {
    void handle(req, res, ctx).catch((error: unknown) => {
      logger.error({ method: req.method, url: req.url, err: (error as Error).message }, 'ops request failed');
      if (!res.headersSent) sendError(res, error);
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, ctx: OpsContext): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://ops').pathname;
  for (const route of ROUTES) {
    const param = matchPath(route.path, path);
    if (param === undefined) continue;
    const method = (req.method === 'HEAD' ? 'GET' : req.method) as keyof Route['methods'];
    const handler = route.methods[method];
    if (!handler) {
      sendDetail(res, 405, 'Method Not Allowed', { allow: Object.keys(route.methods).join(', ') });
      return;
    }
    try {
      await handler(req, res, ctx, param);
    } catch (error) {
      // The body may be unread (refused before reading it): close the connection rather than parse leftovers.
      if (!req.complete) res.setHeader('connection', 'close');
      sendError(res, error);
    }
    return;
  }
  sendDetail(res, 404, 'Not Found');
}

// The decoded `{name}` of a pattern route, '' for a fixed path, undefined when it does not match.
function matchPath(pattern: string | RegExp, path: string): string | undefined {
  if (typeof pattern === 'string') return pattern === path ? '' : undefined;
  const match = pattern.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1]!;
  }
}
