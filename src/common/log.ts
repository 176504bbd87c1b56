// The project's logger: pino to stderr, with secrets redacted wherever they may appear.
import pino from 'pino';
import { prettyDestination, type LogFormat } from './log-pretty.js';

export type Logger = pino.Logger;

/** Paths whose values never reach a log line. */
const REDACT_PATHS = [
  'token', '*.token', 'adminToken', 'clientToken', '*.adminToken', '*.clientToken',
  'authorization', '*.authorization', 'headers.authorization', 'secret', '*.secret', 'password', '*.password',
  'config.*', // worker config values may be secret: key names are logged, values are not
  'params.*', '*.params.*', // instance params are config values too
  'stdinLine', '*.stdinLine', // the start line carries the one-time token and the config
  'tls.key', '*.tls.key', // a private key in PEM
];

/**
 * A logger named `name`; level from WORKER_ADMIN_LOG_LEVEL (default info; "silent" in tests). Writes JSON lines to
 * stderr, or with `format: 'pretty'` one human line per record (formatted from the JSON, so after redaction;
 * colored when stderr is a terminal and NO_COLOR is unset).
 */
export function createLogger(name: string, options: { level?: string; destination?: pino.DestinationStream; format?: LogFormat } = {}): Logger {
  const level = options.level ?? process.env['WORKER_ADMIN_LOG_LEVEL'] ?? 'info';
  const stderr = (): pino.DestinationStream => {
    const out = pino.destination(2);
    if (options.format !== 'pretty') return out;
    return prettyDestination(out, { color: process.stderr.isTTY === true && !process.env['NO_COLOR'] });
  };
  return pino(
    { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    options.destination ?? stderr(),
  );
}
