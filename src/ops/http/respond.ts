// Writing ops API responses and reading request bodies; refusals become `{"detail": "..."}` with their status code.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage, isWorkerAdminError, WorkerAdminError, type ErrorCode } from '../../common/errors.js';

/** The HTTP status of each refusal code; any other refusal is a 400 (docs/ops.md). */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  AUTH_INVALID: 401,
  POLICY_CONFIG_MISSING: 403,
  NOT_FOUND: 404,
  POLICY_NOT_FOUND: 404,
  POLICY_EXISTS: 409,
};

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store', ...headers,
  });
  res.end(text);
}

/** Sends `{"detail": detail}` with `status`. */
export function sendDetail(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { detail }, headers);
}

/** Sends text (metrics, the status page) with its content type. */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Sends a refusal: a WorkerAdminError's message is the detail, its code picks the status; anything else is a 500. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (isWorkerAdminError(error)) {
    const status = STATUS_OF[error.code] ?? 400;
    sendDetail(res, status, error.message, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    return;
  }
  sendDetail(res, 500, `internal error: ${errorMessage(error)}`);
}

/** Reads the body as UTF-8, refusing one over `maxBytes` (the connection is closed after the reply). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(maxBytes: number): WorkerAdminError {
  return new WorkerAdminError('LIMIT_EXCEEDED', `request body is over the ${maxBytes}-byte limit (limits.yamlBytes)`);
}
