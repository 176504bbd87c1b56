// `worker-admin logs [IDENTIFIER] [--follow] [--lines N] [--run N]`: workers' output through the ops API, prefixed `identifier@version | `.
import { DEFAULT_STATE_DIR, readCredentials } from '../common/credentials.js';
import { streamOpsLines } from '../ops/http/stream.js';
import { parseCommandLine, UsageError } from './args.js';

const USAGE = 'logs [IDENTIFIER] [--follow] [--lines N] [--run N] [--ops ADDR] [--token TOKEN] [--state-dir DIR]';
const DEFAULT_OPS = '127.0.0.1:8071';

/** One line as the ops API sends it, or a note that this reader fell behind. */
interface WireLine {
  identifier?: string;
  version?: string;
  stream?: string;
  text?: string;
  dropped?: number;
}

/** Formats one wire line for the terminal; undefined for a note (written to stderr instead). */
export function formatLogLine(raw: string): { out?: string; err?: string } {
  let line: WireLine;
  try {
    line = JSON.parse(raw) as WireLine;
  } catch {
    return { err: `(unreadable line from the ops API: ${raw.slice(0, 80)})` };
  }
  if (typeof line.dropped === 'number') return { err: `(${line.dropped} lines skipped: this reader fell behind)` };
  return { out: `${line.identifier ?? '?'}@${line.version ?? '?'} | ${line.text ?? ''}` };
}

/** Prints the lines; with --follow, until interrupted (exit 0) or the admin goes away (exit 1). */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' }, run: { type: 'string' },
    ops: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`logs takes at most one IDENTIFIER\nusage: worker-admin ${USAGE}`);
  const count = (name: 'lines' | 'run'): string | undefined => {
    const text = values[name] as string | undefined;
    if (text !== undefined && !/^\d+$/.test(text)) throw new UsageError(`--${name} ${JSON.stringify(text)}: not a whole number\nusage: worker-admin ${USAGE}`);
    return text;
  };
  const lines = count('lines');
  const runNumber = count('run');
  const follow = values['follow'] === true;
  const identifier = positionals[0];
  if (runNumber !== undefined && identifier === undefined) throw new UsageError(`--run needs an IDENTIFIER\nusage: worker-admin ${USAGE}`);
  if (runNumber !== undefined && follow) throw new UsageError(`--run shows an ended run: it cannot be followed\nusage: worker-admin ${USAGE}`);

  const stateDir = (values['state-dir'] as string | undefined) ?? DEFAULT_STATE_DIR;
  const credentials = await readCredentials(stateDir);
  const ops = (values['ops'] as string | undefined) ?? process.env['WORKER_ADMIN_OPS'] ?? (credentials?.ops || DEFAULT_OPS);
  const token = (values['token'] as string | undefined) ?? process.env['WORKER_ADMIN_TOKEN'] ?? credentials?.adminToken;
  const query = new URLSearchParams();
  if (identifier !== undefined) query.set('identifier', identifier);
  if (lines !== undefined) query.set('lines', lines);
  if (runNumber !== undefined) query.set('run', runNumber);
  if (follow) query.set('follow', 'true');

  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await streamOpsLines(ops, `/api/v1/logs?${query.toString()}`, {
      ...(token ? { token } : {}), signal: abort.signal,
      onLine: (raw) => {
        const { out, err } = formatLogLine(raw);
        if (out !== undefined) process.stdout.write(`${out}\n`);
        if (err !== undefined) process.stderr.write(`${err}\n`);
      },
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (follow && !abort.signal.aborted) {
    process.stderr.write(`worker-admin logs: the ops API at ${ops} closed the stream (admin stopped?)\n`);
    return 1;
  }
  return 0;
}
