// `worker-admin fleet update TYPE/PRODUCT [--version V] [--max-parallel N] [--canary N] [--min-healthy 10s]`: a fleet
// rolling update through ADMIN_UPDATE, waiting for its end (docs/fleet.md, a rollout). Exit 0: succeeded or nothing
// to do; 1: failed (rolled back), refused, or still going when --timeout ran out.
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { errorCodeOf, isWorkerAdminError, type ErrorCode } from '../../common/errors.js';
import { parseProductRef, productKey } from '../../common/names.js';
import { parseDuration } from '../../common/units.js';
import type { Reply } from '../../proto/types.js';
import { createRouterRpc, type RouterRpc } from '../../sdk/rpc.js';
import { parseCommandLine, UsageError } from '../args.js';
import { resolveClientTarget } from '../send.js';

export const USAGE = 'fleet update TYPE/PRODUCT [--version V] [--max-parallel N] [--canary N] [--min-healthy 10s] [--timeout D] [--router ADDR] [--token TOKEN] [--state-dir DIR]';

/** Each ADMIN_UPDATE waits at most this long; the admin answers TIMEOUT before, and the same request is followed again. */
const ATTEMPT_MS = 600_000;
/** A router that cannot be reached is tried again this often, with the same uuid (its replay makes that safe). */
const RETRY_MS = 1000;
const RETRIES = 30;
/** gRPC codes of a call that got no answer: UNAVAILABLE, DEADLINE_EXCEEDED. */
const AWAY = [status.UNAVAILABLE, status.DEADLINE_EXCEEDED];
/** Replies after which the same request is followed again with a new command. */
const FOLLOW_AGAIN: ErrorCode[] = ['TIMEOUT', 'HOST_LOST', 'TRANSPORT_LOST', 'ROUTER_SHUTDOWN'];

function count(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${flag} ${JSON.stringify(value)} must be an integer ≥ ${min}\nusage: worker-admin ${USAGE}`);
  return Number(value);
}

/** Sends one ADMIN_UPDATE; a call that never reached an answer (router away) is sent again with the same uuid. */
async function attempt(rpc: RouterRpc, payload: string, timeoutMs: number, uuid: string): Promise<Reply> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await rpc.sendCommand({ command: 'ADMIN_UPDATE', payload, timeout_ms: timeoutMs, uuid });
    } catch (error) {
      if (!isWorkerAdminError(error, 'ROUTER_ERROR') || !AWAY.includes(error.details?.['grpcCode'] as number) || tries >= RETRIES) throw error;
      process.stderr.write(`worker-admin fleet update: ${error.message}; sending again\n`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

function summary(product: string, payload: string): string {
  const outcome = JSON.parse(payload) as { from: string; to: string; instances: string[] };
  if (outcome.instances.length === 0 && outcome.from === outcome.to) return `${product}: nothing to update, ${outcome.to} runs`;
  const n = outcome.instances.length;
  return `${product} ${outcome.from} → ${outcome.to}: ${n} instance${n === 1 ? '' : 's'} updated${n > 0 ? ` (${outcome.instances.join(', ')})` : ''}`;
}

/** Runs `fleet update`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    version: { type: 'string' }, 'max-parallel': { type: 'string' }, canary: { type: 'string' }, 'min-healthy': { type: 'string' },
    timeout: { type: 'string' }, router: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  if (positionals.length !== 1) throw new UsageError(`fleet update takes one TYPE/PRODUCT\nusage: worker-admin ${USAGE}`);
  const product = productKey(parseProductRef(positionals[0]));
  const minHealthy = str('min-healthy');
  const fields = {
    product,
    version: str('version'),
    maxParallel: count(str('max-parallel'), '--max-parallel', 1),
    canary: count(str('canary'), '--canary', 0),
    minHealthy: minHealthy === undefined ? undefined : parseDuration(minHealthy, '--min-healthy'),
    request: randomUUID(),
  };
  const until = str('timeout') === undefined ? Infinity : Date.now() + parseDuration(str('timeout'), '--timeout');
  const target = await resolveClientTarget({
    ...(str('router') !== undefined ? { router: str('router')! } : {}),
    ...(str('token') !== undefined ? { token: str('token')! } : {}),
    ...(str('state-dir') !== undefined ? { stateDir: str('state-dir')! } : {}),
  }, true);
  const payload = JSON.stringify(fields);
  const rpc = createRouterRpc({ address: target.router, token: target.token });
  try {
    // the first command's uuid names the request; a command sent again (new uuid, same request) follows it
    for (let uuid = fields.request; ; uuid = randomUUID()) {
      const reply = await attempt(rpc, payload, Math.max(1000, Math.min(ATTEMPT_MS, until - Date.now())), uuid);
      if (reply.status === 'SUCCESS') {
        process.stdout.write(`${summary(product, reply.payload)}\n`);
        return 0;
      }
      // the rollout goes on (or waits its turn), or the admin following it went away: follow it again until --timeout
      if (FOLLOW_AGAIN.includes(errorCodeOf(reply.error) ?? 'INTERNAL') && Date.now() < until) {
        process.stderr.write(`worker-admin fleet update: ${reply.error}\n`);
        continue;
      }
      process.stderr.write(`worker-admin fleet update: ${reply.error}\n`);
      return 1;
    }
  } finally {
    rpc.close();
  }
}
