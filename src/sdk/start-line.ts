// The one line of JSON the admin writes to a worker's stdin (docs/workers.md step 3), read and checked.
import { WorkerAdminError } from '../common/errors.js';
import { IDENTIFIER_RE, TYPE_PRODUCT_RE, VERSION_RE } from '../common/names.js';
import { formatAddress, parseAddress } from '../common/address.js';
import type { TlsOptions } from './types.js';

/** The start line: identity, router address, one-time token, configuration. */
export interface StartLine {
  identifier: string;
  target: string;
  token: string;
  type: string;
  product: string;
  version: string;
  config: Record<string, unknown>;
  /** PEM text. */
  tls?: TlsOptions;
}

/** The start line is small; anything bigger is not what the admin writes. */
const MAX_START_LINE_BYTES = 4 * 1024 * 1024;

/** Reads stdin to EOF and parses its one line; the error names what is missing or wrong. */
export async function readStartLine(stdin: NodeJS.ReadableStream): Promise<StartLine> {
  const text = await readAll(stdin);
  return parseStartLine(text);
}

/** Parses and checks the start line's text (one JSON object, optional trailing newline). */
export function parseStartLine(text: string): StartLine {
  const trimmed = text.replace(/\r?\n$/, '');
  if (trimmed.trim().length === 0) {
    throw startError('stdin is empty: expected one line of JSON {"identifier","target","token","type","product","version","config"} then EOF');
  }
  if (trimmed.includes('\n')) throw startError('stdin has more than one line: expected one line of JSON then EOF');
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw startError(`stdin is not JSON: ${(error as Error).message}`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw startError('stdin JSON is not an object');
  return checkFields(value as Record<string, unknown>);
}

function checkFields(raw: Record<string, unknown>): StartLine {
  const missing = ['identifier', 'target', 'token', 'type', 'product', 'version'].filter((k) => typeof raw[k] !== 'string' || raw[k] === '');
  if (missing.length > 0) throw startError(`start line is missing ${missing.join(', ')} (each a non-empty string)`);
  const s = (k: string): string => raw[k] as string;
  if (!IDENTIFIER_RE.test(s('identifier'))) throw startError(`start line: identifier ${JSON.stringify(s('identifier'))} must match ${IDENTIFIER_RE.source}`);
  if (!TYPE_PRODUCT_RE.test(s('type'))) throw startError(`start line: type ${JSON.stringify(s('type'))} must match ${TYPE_PRODUCT_RE.source}`);
  if (!TYPE_PRODUCT_RE.test(s('product'))) throw startError(`start line: product ${JSON.stringify(s('product'))} must match ${TYPE_PRODUCT_RE.source}`);
  if (!VERSION_RE.test(s('version'))) throw startError(`start line: version ${JSON.stringify(s('version'))} must be "major.minor"`);
  let target: string;
  try {
    target = formatAddress(parseAddress(s('target')));
  } catch (error) {
    throw startError(`start line: target: ${(error as Error).message}`, error);
  }
  const config = raw['config'] ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw startError('start line: config must be an object');
  const line: StartLine = {
    identifier: s('identifier'), target, token: s('token'), type: s('type'), product: s('product'), version: s('version'),
    config: config as Record<string, unknown>,
  };
  if (raw['tls'] !== undefined) line.tls = checkTls(raw['tls']);
  return line;
}

function checkTls(raw: unknown): TlsOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw startError('start line: tls must be an object {ca?, cert?, key?} of PEM text');
  const tls: TlsOptions = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v = (raw as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw startError(`start line: tls.${k} must be PEM text`);
    tls[k] = v;
  }
  return tls;
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_START_LINE_BYTES) throw startError(`stdin is over ${MAX_START_LINE_BYTES} bytes: expected one line of JSON`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function startError(message: string, cause?: unknown): WorkerAdminError {
  return new WorkerAdminError('CONFIG_INVALID', message, cause === undefined ? {} : { cause });
}
