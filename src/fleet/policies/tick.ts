// What a fleet keeps of ops policies (docs/fleet.md, policies): K/policies/NAME, K/ticks/NAME, and which schedule time
// is due now (a tick is written at most a grace late, never for a time before the policy was registered).
import { nextCronTime, type CronMatcher } from '../../common/cron.js';
import type { PolicyTick } from '../../ops/policies/ports.js';

/** K/policies/NAME: a policy of some host's ops API, on that host's lease. */
export interface PolicyRegistration {
  host: string;
  incarnation: string;
  /** `type/product@range` as written. */
  package: string;
  /** 5-field cron expression; null: a one-shot policy (no ticks). */
  schedule: string | null;
  command: string;
  dryRun: boolean;
  /** When the host first registered it (ms, the host's clock): no tick before it. */
  since: number;
}

/** K/policies/NAME as stored, or undefined when it is not one. */
export function parseRegistration(text: string): PolicyRegistration | undefined {
  const value = parseObject(text);
  if (!value || typeof value['host'] !== 'string' || typeof value['incarnation'] !== 'string') return undefined;
  const schedule = value['schedule'];
  return {
    host: value['host'], incarnation: value['incarnation'],
    package: typeof value['package'] === 'string' ? value['package'] : '',
    schedule: typeof schedule === 'string' ? schedule : null,
    command: typeof value['command'] === 'string' ? value['command'] : '',
    dryRun: value['dryRun'] === true,
    since: typeof value['since'] === 'number' ? value['since'] : 0,
  };
}

/** K/ticks/NAME as stored, or undefined when it is not one. */
export function parseTick(text: string): PolicyTick | undefined {
  const value = parseObject(text);
  if (!value || typeof value['tick'] !== 'number' || typeof value['uuid'] !== 'string') return undefined;
  return { tick: value['tick'], uuid: value['uuid'], at: typeof value['at'] === 'number' ? value['at'] : value['tick'] };
}

/** The tick of `policy` at schedule time `tick`: its command's uuid is `{policy}-{tick ms}`. */
export function tickOf(policy: string, tick: number, at: number): PolicyTick {
  return { tick, uuid: `${policy}-${tick}`, at };
}

/**
 * The latest schedule time t with `from` ≤ t ≤ `now`, or undefined: what may still be written now (`from` is now minus
 * the grace, or later: the policy's registration). Bounded: cron times are a minute apart at least.
 */
export function dueTick(matcher: CronMatcher, now: number, from: number): number | undefined {
  let due = nextCronTime(matcher, from - 1);
  if (due === undefined || due > now) return undefined;
  for (let next = nextCronTime(matcher, due); next !== undefined && next <= now; next = nextCronTime(matcher, due)) due = next;
  return due;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
