// One coordinator pass (docs/fleet.md, the coordinator; placement): read the fleet, record the version of products
// placed for the first time, place, write what changed (fenced), then hand the view to the rollout runner.
import semver from 'semver';
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { VERSION_RE } from '../../common/names.js';
import type { Etcd3 } from 'etcd3';
import type { FleetKeys } from '../keys.js';
import { place, type PlacedConnector, type PlacementHost } from '../placement/place.js';
import type { HostAssignments, PlacementGaps, RunningVersion } from '../placement/types.js';
import { withDeadline } from '../registry/leases.js';
import { TERMINAL_ROLLOUT_STATES } from '../rollout/types.js';
import type { FencedCompare, FencedOp, FencedWriter } from './fenced.js';
import { readView, type FleetView } from './view.js';

/** The newest version in the repository matching any of `versions` (entries as written: `^1`, `1.2`, `latest`). */
export type ResolveVersion = (type: string, product: string, versions: string[]) => Promise<string>;

/** The rollout runner, called at the end of each pass with what it read and the term's writer. */
export interface RolloutHook {
  pass(view: FleetView, writer: FencedWriter): Promise<void>;
  /** The term ended (stepped down or closing): stop any timer of its own. */
  close?(): void;
}

interface PassDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  reassignAfterMs: number;
  resolveVersion: ResolveVersion;
  rollouts: RolloutHook | undefined;
  logger: Logger;
  now: () => number;
}

interface PassOutcome {
  /** False when a write was not applied (a compared key changed, or the fence failed): run another pass. */
  complete: boolean;
  missing: PlacementGaps['missing'];
}

/** History entries deleted per transaction (etcd's --max-txn-ops is 128 by default). */
const CHUNK = 100;
const HISTORY_KEPT = 1000;

/**
 * One pass for the term of `writer` (its create revision is fixed: a term that ended writes nothing); `termSince`: when
 * the term began on the coordinator's clock, from which hosts lost before are counted. Stops at the first write refused.
 */
export async function runPass(deps: PassDeps, writer: FencedWriter, termSince = 0): Promise<PassOutcome> {
  const { etcd, keys, logger, now } = deps;
  let view = await readView(etcd, keys, logger, now());

  const versionErrors = await recordVersions(deps, view, writer);
  if (versionErrors === undefined) return { complete: false, missing: [] };
  if (versionErrors.wrote) view = await readView(etcd, keys, logger, now());

  const current = new Map<string, HostAssignments>([...view.assignments].map(([host, a]) => [host, a.value]));
  const result = place({
    connectors: placedConnectors(view, versionErrors.errors),
    hosts: placementHosts(view),
    current,
    now: view.now,
    reassignAfterMs: deps.reassignAfterMs,
    countLostFrom: termSince,
  });

  const writes: Array<{ op: FencedOp; compare: FencedCompare }> = [];
  const compareOf = (host: string): FencedCompare => ({ key: keys.assignments(host), ...(view.assignments.has(host) ? { target: 'Mod', value: view.assignments.get(host)!.modRevision } : { target: 'Create', value: 0 }) });
  for (const host of result.changed) writes.push({ op: { put: keys.assignments(host), value: JSON.stringify(result.assignments.get(host)) }, compare: compareOf(host) });
  for (const host of result.removed) writes.push({ op: { delete: keys.assignments(host) }, compare: compareOf(host) });
  const gapsChanged = !view.placement || JSON.stringify(view.placement.value.missing) !== JSON.stringify(result.missing);
  if (gapsChanged) writes.push({ op: { put: keys.placement, value: JSON.stringify({ at: view.now, missing: result.missing } satisfies PlacementGaps) }, compare: view.placement ? { key: keys.placement, target: 'Mod', value: view.placement.modRevision } : { key: keys.placement, target: 'Create', value: 0 } });
  // one transaction: every identifier is in exactly one host's assignments at every revision
  if (writes.length > 0 && !(await writer.commit(writes.map((w) => w.op), writes.map((w) => w.compare)))) return { complete: false, missing: result.missing };
  if (result.changed.length + result.removed.length > 0) {
    logger.info({ changed: result.changed, removed: result.removed, missing: result.missing }, 'coordinator: assignments written');
  }
  if (writes.length > 0) view = await readView(etcd, keys, logger, now());

  if (writer.fenced) return { complete: false, missing: result.missing };
  if (deps.rollouts) await deps.rollouts.pass(view, writer);
  if (view.historyCount > HISTORY_KEPT) await trimHistory(deps, writer, view.historyCount - HISTORY_KEPT);
  return { complete: !writer.fenced, missing: result.missing };
}

/**
 * K/running for every desired product with none recorded (its first placement), or whose recorded version its
 * `versions` no longer allow while none of it is assigned and no rollout runs. Undefined when the write was refused.
 */
async function recordVersions(deps: PassDeps, view: FleetView, writer: FencedWriter): Promise<{ errors: Map<string, string>; wrote: boolean } | undefined> {
  const errors = new Map<string, string>();
  const ops: FencedOp[] = [];
  const compares: FencedCompare[] = [];
  const assigned = new Set<string>();
  for (const a of view.assignments.values()) for (const i of a.value.instances) assigned.add(`${i.type}/${i.product}`);
  for (const [product, desired] of view.desired) {
    const recorded = view.running.get(product);
    if (recorded?.value.version) {
      const rolling = view.rollouts.get(product);
      const idle = !assigned.has(product) && (!rolling || TERMINAL_ROLLOUT_STATES.includes(rolling.value.state));
      if (!idle || allowed(recorded.value.version, desired.versions)) continue;
    }
    try {
      const version = await deps.resolveVersion(desired.type, desired.product, desired.versions);
      // fields written by rollouts (the version before, the failed ones) are kept
      const value: RunningVersion = { ...recorded?.value, version, failed: recorded?.value.failed ?? [], since: deps.now() };
      const key = deps.keys.running(desired.type, desired.product);
      ops.push({ put: key, value: JSON.stringify(value) });
      compares.push(recorded ? { key, target: 'Mod', value: recorded.modRevision } : { key, target: 'Create', value: 0 });
      deps.logger.info({ product, version }, 'coordinator: version recorded for a product placed for the first time');
    } catch (error) {
      errors.set(product, errorMessage(error));
      deps.logger.warn({ product, err: errorMessage(error) }, 'coordinator: no version for a product: its instances wait');
    }
  }
  if (ops.length === 0) return { errors, wrote: false };
  return (await writer.commit(ops, compares)) ? { errors, wrote: true } : undefined;
}

/** Whether `version` (`major.minor`) is one the `versions` entries allow. */
function allowed(version: string, versions: string[]): boolean {
  if (versions.length === 0) return true;
  return versions.some((entry) => {
    const text = entry.trim();
    if (text === 'latest') return true;
    if (VERSION_RE.test(text)) return text === version;
    return semver.validRange(text) !== null && semver.satisfies(`${version}.0`, text);
  });
}

function placedConnectors(view: FleetView, versionErrors: Map<string, string>): PlacedConnector[] {
  return [...view.desired].map(([product, d]) => {
    const version = view.running.get(product)?.value.version || null;
    return {
      type: d.type,
      product: d.product,
      version,
      ...(versionErrors.has(product) ? { versionError: versionErrors.get(product)! } : {}),
      major: version?.split('.')[0] ?? '',
      instances: d.instances,
      hosts: d.hosts,
      config: d.config,
      restart: d.restart,
    };
  });
}

/** Hosts with records: live (or leaving), with their cordons and the connectors they refused (CONFIG_INVALID). */
function placementHosts(view: FleetView): PlacementHost[] {
  return [...view.hosts].map(([name, record]) => {
    const refuses = new Set<string>();
    const report = view.reports.get(name);
    if (report && report.incarnation === record.incarnation) {
      const products = new Map((view.assignments.get(name)?.value.instances ?? []).map((i) => [i.identifier, `${i.type}/${i.product}`]));
      for (const i of report.instances ?? []) {
        const product = products.get(i.identifier);
        if (product && (i.state === 'REFUSED' || i.error?.startsWith('CONFIG_INVALID'))) refuses.add(product);
      }
    }
    return {
      name,
      live: true,
      leaving: record.state === 'leaving',
      labels: record.labels,
      capacity: record.capacity,
      cordon: view.cordons.get(name)?.mode ?? 'none',
      refuses,
    };
  });
}

/** Keeps the newest 1,000 history entries (keys sort by time). */
async function trimHistory(deps: PassDeps, writer: FencedWriter, excess: number): Promise<void> {
  const { etcd, keys } = deps;
  const oldest = await withDeadline(etcd.getAll().prefix(keys.historyPrefix).sort('Key', 'Ascend').limit(excess).keys(), 2000);
  for (let i = 0; i < oldest.length; i += CHUNK) {
    if (!(await writer.commit(oldest.slice(i, i + CHUNK).map((key) => ({ delete: key }))))) return;
  }
}
