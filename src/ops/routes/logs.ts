// GET /api/v1/logs (admin token): workers' output as JSON lines: a tail, an earlier run's file, or a live follow (docs/ops.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WorkerAdminError } from '../../common/errors.js';
import { assertIdentifier } from '../../common/names.js';
import { readRunFile } from '../../process/run-file.js';
import type { OutputLine } from '../../process/tail-ring.js';
import type { OpsContext } from '../context.js';

/** Lines a follower may have waiting in its socket; past it, lines are skipped for it and the count is sent once it catches up. */
const FOLLOW_BACKLOG_BYTES = 1024 * 1024;
const DEFAULT_LINES = 20;
const MAX_LINES = 100_000;

/** The query, validated once: `identifier`, `lines`, `run`, `follow`. */
interface LogsQuery {
  identifier: string | undefined;
  lines: number;
  run: number | undefined;
  follow: boolean;
}

/** Parses the query string; a bad value is PAYLOAD_INVALID naming the parameter. */
function parseLogsQuery(search: URLSearchParams): LogsQuery {
  const bad = (name: string, reason: string): never => {
    throw new WorkerAdminError('PAYLOAD_INVALID', `${name}: ${reason}`);
  };
  for (const key of search.keys()) if (!['identifier', 'lines', 'run', 'follow'].includes(key)) bad(key, 'unknown parameter (allowed: identifier, lines, run, follow)');
  const integer = (name: string, min: number, max: number): number | undefined => {
    const text = search.get(name);
    if (text === null) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) bad(name, `${JSON.stringify(text)} is not an integer from ${min} to ${max}`);
    return Number(text);
  };
  const idText = search.get('identifier');
  let identifier: string | undefined;
  if (idText !== null && idText !== '') {
    try {
      identifier = assertIdentifier(idText);
    } catch (error) {
      bad('identifier', (error as Error).message);
    }
  }
  const followText = search.get('follow');
  if (followText !== null && !['true', 'false', '1', '0', ''].includes(followText)) bad('follow', `${JSON.stringify(followText)} is not true or false`);
  const query: LogsQuery = {
    identifier, lines: integer('lines', 0, MAX_LINES) ?? DEFAULT_LINES, run: integer('run', 1, Number.MAX_SAFE_INTEGER),
    follow: followText === 'true' || followText === '1' || followText === '',
  };
  if (query.run !== undefined && query.identifier === undefined) bad('run', 'needs an identifier (runs are numbered per instance)');
  if (query.run !== undefined && query.follow) bad('run', 'an earlier run does not grow: use follow without run for the current one');
  return query;
}

/** 200 `application/x-ndjson`: one `{at, identifier, version, run, stream, text}` per line; with follow, open until the client leaves. */
export async function getLogs(req: IncomingMessage, res: ServerResponse, ctx: OpsContext): Promise<void> {
  ctx.auth.require(req);
  const query = parseLogsQuery(new URL(req.url ?? '/', 'http://ops').searchParams);
  const { output } = ctx;
  if (query.identifier !== undefined && query.run === undefined && !output.knows(query.identifier) && !ctx.workers().some((w) => w.identifier === query.identifier)) {
    throw new WorkerAdminError('NOT_FOUND', `no instance '${query.identifier}' has run since the admin started`);
  }
  const tail = query.run !== undefined
    ? await readRunFile(ctx.stateDir, query.identifier!, query.run, query.lines)
    : output.tail(query.identifier, query.lines);
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  if (!query.follow) {
    res.end(tail.map((line) => `${JSON.stringify(line)}\n`).join(''));
    return;
  }
  // Subscribed in the same tick as the tail was taken: no line falls between them.
  let skipped = 0;
  const send = (line: OutputLine): void => {
    if (res.writableLength > FOLLOW_BACKLOG_BYTES) {
      skipped += 1;
      return;
    }
    if (skipped > 0) {
      res.write(`${JSON.stringify({ dropped: skipped })}\n`);
      skipped = 0;
    }
    res.write(`${JSON.stringify(line)}\n`);
  };
  const stop = output.follow(query.identifier, send);
  res.write(tail.map((line) => `${JSON.stringify(line)}\n`).join(''));
  res.flushHeaders();
  await new Promise<void>((resolve) => {
    res.once('close', resolve);
  });
  stop();
}
