// ADMIN_UPDATE and ADMIN_ROLLBACK of a fleet-managed product, and ADMIN_FLEET_ROLLOUT (docs/fleet.md, a rollout):
// the receiving admin writes a request or a control and answers from the rollout record.
import type { Etcd3 } from 'etcd3';
import { WorkerAdminError } from '../../common/errors.js';
import { VERSION_RE, parseProductRef, productKey } from '../../common/names.js';
import { parseDuration } from '../../common/units.js';
import type { Handler, HandlerCall } from '../../admin/commands/context.js';
import type { ProductRef } from '../../admin/payloads.js';
import type { FleetKeys } from '../keys.js';
import type { RunningVersion } from '../placement/types.js';
import { withDeadline } from '../registry/leases.js';
import { controlRollout, requestRollout } from './follow.js';
import type { RolloutControl } from './types.js';

interface RolloutHandlerDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  /** This host's name: requests and controls say `admin@HOST` wrote them. */
  host: string;
  /** ADMIN_ROLLBACK first sets the product's update override to manual, so that auto mode does not undo it. */
  setManual(ref: ProductRef, by: string): Promise<void>;
  /** Aborted when the admin closes: a handler following a rollout answers at once that it goes on. */
  closing?: AbortSignal;
  now?: () => number;
}

/** A caller without a deadline (a direct call) is answered within this. */
const DEFAULT_WAIT_MS = 600_000;
/** How long ADMIN_FLEET_ROLLOUT waits for the coordinator to take the action. */
const CONTROL_WAIT_MS = 10_000;
const REQUEST_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** When to answer so the reply reaches the caller before its own deadline. */
function answerBy(call: HandlerCall | undefined, now: number): number {
  if (!call) return now + DEFAULT_WAIT_MS;
  const left = call.deadlineAt - now;
  return call.deadlineAt - Math.max(200, Math.min(2000, Math.floor(left / 10)));
}

/** The request's id: the command's uuid (a new one when that cannot name a key). */
function requestIdOf(call: HandlerCall | undefined): string | undefined {
  return call && REQUEST_ID_RE.test(call.uuid) ? call.uuid : undefined;
}

function productOf(payload: Record<string, unknown>, command: string): ProductRef {
  if (payload['product'] === undefined) throw new WorkerAdminError('PAYLOAD_INVALID', `${command} of a fleet-managed product needs "product": "type/product"`);
  try {
    return parseProductRef(payload['product']);
  } catch (error) {
    throw new WorkerAdminError('PAYLOAD_INVALID', (error as Error).message, { cause: error });
  }
}

function count(payload: Record<string, unknown>, field: string, min: number): number | undefined {
  const value = payload[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new WorkerAdminError('PAYLOAD_INVALID', `${field} ${JSON.stringify(value)} must be an integer ≥ ${min}`);
  }
  return value;
}

/** The fields of a fleet ADMIN_UPDATE, validated once. */
function parseUpdate(payload: Record<string, unknown>): { ref: ProductRef; version?: string; maxParallel?: number; canary?: number; minHealthyMs?: number; id?: string } {
  const ref = productOf(payload, 'ADMIN_UPDATE');
  const version = payload['version'];
  if (version !== undefined && (typeof version !== 'string' || !VERSION_RE.test(version))) {
    throw new WorkerAdminError('PAYLOAD_INVALID', `version ${JSON.stringify(version)} is invalid: it must be "major.minor", e.g. "1.2"`);
  }
  const request = payload['request'];
  if (request !== undefined && (typeof request !== 'string' || !REQUEST_ID_RE.test(request))) {
    throw new WorkerAdminError('PAYLOAD_INVALID', `request ${JSON.stringify(request)} must be 1 to 64 letters, digits, "-" or "_"`);
  }
  let minHealthyMs: number | undefined;
  try {
    minHealthyMs = payload['minHealthy'] === undefined ? undefined : parseDuration(payload['minHealthy'], 'minHealthy');
  } catch (error) {
    throw new WorkerAdminError('PAYLOAD_INVALID', (error as Error).message, { cause: error });
  }
  const maxParallel = count(payload, 'maxParallel', 1);
  const canary = count(payload, 'canary', 0);
  return {
    ref,
    ...(version !== undefined ? { version: version as string } : {}),
    ...(maxParallel !== undefined ? { maxParallel } : {}),
    ...(canary !== undefined ? { canary } : {}),
    ...(minHealthyMs !== undefined ? { minHealthyMs } : {}),
    ...(request !== undefined ? { id: request as string } : {}),
  };
}

const ACTIONS: ReadonlyArray<RolloutControl['action']> = ['pause', 'resume', 'abort'];

/** The handlers the fleet serves for rollouts; the lead merges them into AdminFleet.handlers. */
export function rolloutHandlers(deps: RolloutHandlerDeps): Record<string, Handler> {
  const now = deps.now ?? Date.now;
  const by = `admin@${deps.host}`;
  const follow = { etcd: deps.etcd, keys: deps.keys, now, signal: deps.closing };
  return {
    /** {product, version?, maxParallel?, canary?, minHealthy?, request?} → {from, to, instances} once the rollout ended. */
    ADMIN_UPDATE: async (payload, _ctx, call) => {
      const { ref, ...ask } = parseUpdate(payload);
      return requestRollout(follow, ref, { ...ask, id: ask.id ?? requestIdOf(call), trigger: 'command', by }, answerBy(call, now()));
    },
    /** {product} → {from, to, instances}: back to the version before the last successful rollout; the mode turns manual. */
    ADMIN_ROLLBACK: async (payload, _ctx, call) => {
      const ref = productOf(payload, 'ADMIN_ROLLBACK');
      await deps.setManual(ref, by);
      const text = await withDeadline(deps.etcd.get(deps.keys.running(ref.type, ref.product)).string(), 2000);
      const running = text === null ? undefined : (JSON.parse(text) as RunningVersion);
      if (!running?.previous) {
        throw new WorkerAdminError('NOT_FOUND', `${productKey(ref)}: no previous version to roll back to (no successful fleet rollout of it was recorded)`);
      }
      return requestRollout(follow, ref, { version: running.previous, id: requestIdOf(call), trigger: 'rollback', by }, answerBy(call, now()));
    },
    /** {product, action: pause|resume|abort} → {product, action, rolloutId, state, taken}. */
    ADMIN_FLEET_ROLLOUT: async (payload, _ctx, call) => {
      const ref = productOf(payload, 'ADMIN_FLEET_ROLLOUT');
      const action = payload['action'];
      if (!ACTIONS.includes(action as RolloutControl['action'])) {
        throw new WorkerAdminError('PAYLOAD_INVALID', `action ${JSON.stringify(action)} must be one of ${ACTIONS.join(', ')}`);
      }
      const waitMs = Math.max(0, Math.min(CONTROL_WAIT_MS, answerBy(call, now()) - now()));
      return controlRollout(follow, ref, action as RolloutControl['action'], by, waitMs);
    },
  };
}
