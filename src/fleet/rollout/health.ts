// How one instance of a rollout is doing (docs/fleet.md, a rollout: batches, failure), from its assignment, its
// host's record and its host's report. Pure: the runner stores the patches and acts on the verdicts.
import type { InstanceReport } from '../placement/types.js';
import type { RolloutView } from './ports.js';
import type { RolloutInstance, RolloutRecord } from './types.js';

/** Beyond the start timeout and minHealthy, how long a moved instance may take to be healthy. */
const HEALTH_MARGIN_MS = 30_000;
/** Hosts report readySince rounded to whole seconds: a later one within this is the same READY period. */
const READY_SINCE_SLACK_MS = 2000;

export type Verdict =
  /** Not there yet; `patch`: what was first seen (stored so a new coordinator knows it too). */
  | { kind: 'wait'; patch?: Partial<RolloutInstance> }
  | { kind: 'done'; patch?: Partial<RolloutInstance> }
  | { kind: 'failed'; reason: string; host: string }
  /** Its assignment is elsewhere or has another version: set the version wanted on `host` again. */
  | { kind: 'reassign'; host: string };

/** Where an identifier is assigned now, and with which version. */
interface Placed {
  host: string;
  version: string;
}

/** The identifier's current assignment, if any. */
export function placedAt(view: RolloutView, identifier: string): Placed | undefined {
  for (const [host, a] of view.assignments) {
    const found = a.value.instances.find((i) => i.identifier === identifier);
    if (found) return { host, version: found.version };
  }
  return undefined;
}

/** The instance's line in its host's report, when the report is of the host's current incarnation. */
function reported(view: RolloutView, host: string, identifier: string): InstanceReport | undefined {
  const record = view.hosts.get(host);
  const report = view.reports.get(host);
  if (!record || !report || report.incarnation !== record.incarnation) return undefined;
  return report.instances.find((i) => i.identifier === identifier);
}

/** True when `host`'s report was written after it read its current assignments (a report without it: an older host). */
function actedOn(view: RolloutView, host: string): boolean {
  const seen = view.reports.get(host)?.assignments;
  const current = view.assignments.get(host)?.modRevision;
  if (seen === undefined || current === undefined) return true;
  return seen !== null && BigInt(seen) >= BigInt(current);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** A moving instance: READY on `to` for minHealthy with no restart → done; FAILED, restarted, lost, too late → failed. */
export function judgeMoving(record: RolloutRecord, identifier: string, instance: RolloutInstance, view: RolloutView, startTimeoutMs: number): Verdict {
  const { to, minHealthyMs } = record;
  const host = instance.host;
  const placed = placedAt(view, identifier);
  if (!placed) return { kind: 'done' }; // scaled down meanwhile: nothing left to wait for
  // placement moved it (its host left or is drained): it is moved to `to` there, and waited for again
  if (placed.host !== host || placed.version !== to) return { kind: 'reassign', host: placed.host };
  const live = view.hosts.get(host);
  if (!live || (instance.incarnation !== null && live.incarnation !== instance.incarnation)) {
    return { kind: 'failed', host, reason: `${host} was lost while ${identifier} moved to ${to}` };
  }
  const now = view.now;
  const line = reported(view, host, identifier);
  const patch: Partial<RolloutInstance> = {};
  if (line) {
    if (line.version === to && (line.state === 'FAILED' || line.state === 'REFUSED')) {
      return { kind: 'failed', host, reason: `${identifier} is ${line.state} on ${to}${line.error ? ` (${line.error})` : ''}` };
    }
    // a swap that failed leaves the old version serving, with the new one's error (one seen before the move is old)
    if (line.error !== null && line.error !== instance.error && (line.failedVersion === to || line.version === to)) {
      return { kind: 'failed', host, reason: `${identifier}: ${line.error}` };
    }
    if (line.version === to) {
      const baseline = instance.restarts ?? line.restarts;
      if (instance.restarts === null) patch.restarts = line.restarts;
      if (line.restarts > baseline) return { kind: 'failed', host, reason: `${identifier} restarted on ${to} (restarts ${baseline} → ${line.restarts})` };
      if (line.state === 'READY') {
        if (instance.readyAt === null) {
          patch.readyAt = now;
          patch.readySince = line.readySince;
        } else if (line.readySince !== null && instance.readySince !== null && line.readySince - instance.readySince > READY_SINCE_SLACK_MS) {
          return { kind: 'failed', host, reason: `${identifier} restarted on ${to} (READY again since ${new Date(line.readySince).toISOString()})` };
        }
        const readyAt = patch.readyAt ?? instance.readyAt!;
        if (now - readyAt >= minHealthyMs) return { kind: 'done', patch };
      } else if (instance.readyAt !== null) {
        return { kind: 'failed', host, reason: `${identifier} left READY on ${to} (${line.state})` };
      }
    }
  }
  const bound = startTimeoutMs + minHealthyMs + HEALTH_MARGIN_MS;
  if (instance.movedAt !== null && now - instance.movedAt > bound) {
    return { kind: 'failed', host, reason: `${identifier} was not READY on ${to} for ${seconds(minHealthyMs)} within ${seconds(bound)}` };
  }
  return Object.keys(patch).length > 0 ? { kind: 'wait', patch } : { kind: 'wait' };
}

/** A reverting instance: READY on `from` → done; FAILED on it or not READY within the bound → failed. */
export function judgeReverting(identifier: string, instance: RolloutInstance, view: RolloutView, startTimeoutMs: number): Verdict {
  const host = instance.host;
  const placed = placedAt(view, identifier);
  if (!placed) return { kind: 'done' };
  if (placed.host !== host) {
    // placement moved it meanwhile (host lost or leaving) with the running version: follow it there
    return placed.version === instance.from ? { kind: 'done', patch: { host: placed.host } } : { kind: 'reassign', host: placed.host };
  }
  if (placed.version !== instance.from) return { kind: 'reassign', host };
  // a lost host's assignment already says `from`: placement re-places it with the running version
  if (!view.hosts.has(host)) return { kind: 'done' };
  const line = reported(view, host, identifier);
  if (line?.version === instance.from) {
    // READY on `from` counts once its host has read the assignment that put it back and no swap away from it is in flight
    if (line.state === 'READY' && !line.swapTo && actedOn(view, host)) return { kind: 'done' };
    if (line.state === 'FAILED' || line.state === 'REFUSED') {
      return { kind: 'failed', host, reason: `${identifier} is ${line.state} on ${instance.from}${line.error ? ` (${line.error})` : ''}` };
    }
  }
  const bound = startTimeoutMs + HEALTH_MARGIN_MS;
  if (instance.movedAt !== null && view.now - instance.movedAt > bound) {
    return { kind: 'failed', host, reason: `${identifier} on ${host} was not READY on ${instance.from} within ${seconds(bound)}` };
  }
  return { kind: 'wait' };
}
