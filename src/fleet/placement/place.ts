// Placement (docs/fleet.md, placement): from the desired connectors, the hosts and the current assignments to each
// host's new assignments and what could not be placed. Pure: the coordinator reads etcd, this decides.
import type { RestartMode } from '../../config/types.js';
import { fleetIdentifier, type Assignment, type HostAssignments, type PlacementGaps } from './types.js';

/** One desired connector with the version its new instances run. */
export interface PlacedConnector {
  type: string;
  product: string;
  /** The version new identifiers run (K/running); null while none could be resolved. */
  version: string | null;
  /** Why there is no version (the gap's reason). */
  versionError?: string;
  /** The major of `version`: part of every identifier. */
  major: string;
  instances: number;
  /** Label selector: every label given must be among the host's. */
  hosts: Record<string, string>;
  config: Record<string, string | number | boolean>;
  restart: RestartMode;
}

export type CordonMode = 'none' | 'cordon' | 'drain';

export interface PlacementHost {
  name: string;
  /** Its record is present (lease held). */
  live: boolean;
  /** Its record says `state: leaving` (SIGTERM). */
  leaving: boolean;
  labels: Record<string, string>;
  /** Most fleet-managed instances; null: no limit. */
  capacity: number | null;
  cordon: CordonMode;
  /** `type/product` of connectors this host refused (CONFIG_INVALID in its report). */
  refuses: ReadonlySet<string>;
}

export interface PlacementInput {
  connectors: readonly PlacedConnector[];
  hosts: readonly PlacementHost[];
  /** K/assignments/HOST as read. */
  current: ReadonlyMap<string, HostAssignments>;
  now: number;
  reassignAfterMs: number;
  /**
   * The coordinator's takeover (its own clock): a host lost before it counts from then, never from a time another
   * coordinator recorded (it may wait longer, never shorter).
   */
  countLostFrom: number;
}

interface PlacementResult {
  /** The new assignments of every host that has some or had a key. */
  assignments: Map<string, HostAssignments>;
  /** Hosts whose assignments differ from the current ones (to be written). */
  changed: string[];
  /** Hosts whose key can go: nothing assigned and not live. */
  removed: string[];
  missing: PlacementGaps['missing'];
}

const productKey = (c: { type: string; product: string }): string => `${c.type}/${c.product}`;

/** Whether every label of `selector` is among `labels`. */
function labelsMatch(labels: Record<string, string>, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** `{zone: eu-2, tier: a}` as shown in a gap's reason. */
function formatSelector(selector: Record<string, string>): string {
  return `{${Object.entries(selector).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`).join(', ')}}`;
}

interface Slot {
  connector: PlacedConnector;
  n: number;
}

/** Computes every host's assignments (docs/fleet.md, placement: identifiers, stay, place, not enough room). */
export function place(input: PlacementInput): PlacementResult {
  const { now, reassignAfterMs } = input;
  const hosts = new Map<string, PlacementHost>();
  for (const h of input.hosts) hosts.set(h.name, h);
  // a host with assignments but no record is lost
  for (const name of input.current.keys()) {
    if (!hosts.has(name)) hosts.set(name, { name, live: false, leaving: false, labels: {}, capacity: null, cordon: 'none', refuses: new Set() });
  }
  const names = [...hosts.keys()].sort();
  const lostSince = new Map<string, number | null>();
  for (const name of names) lostSince.set(name, hosts.get(name)!.live ? null : Math.max(input.current.get(name)?.lostSince ?? now, input.countLostFrom));
  const expired = (h: PlacementHost): boolean => !h.live && now - (lostSince.get(h.name) ?? now) >= reassignAfterMs;

  const connectors = [...input.connectors].sort((a, b) => productKey(a).localeCompare(productKey(b)));
  const wanted = new Map<string, Slot>();
  for (const connector of connectors) {
    for (let n = 1; n <= connector.instances; n += 1) wanted.set(fleetIdentifier(connector.type, connector.product, connector.major, n), { connector, n });
  }

  const canStay = (h: PlacementHost, c: PlacedConnector): boolean =>
    h.live ? !h.leaving && h.cordon !== 'drain' && labelsMatch(h.labels, c.hosts) && !h.refuses.has(productKey(c)) : !expired(h);

  // an identifier keeps its version wherever it goes: only a rollout changes versions
  const byLiveness = [...names].sort((a, b) => Number(hosts.get(b)!.live) - Number(hosts.get(a)!.live));
  const versions = new Map<string, string>();
  for (const name of byLiveness) {
    for (const instance of input.current.get(name)?.instances ?? []) if (!versions.has(instance.identifier)) versions.set(instance.identifier, instance.version);
  }

  // 1. stay: each wanted identifier keeps its host while it may (live hosts first when one is listed twice)
  const kept = new Map<string, Array<{ slot: Slot; version: string }>>();
  const placedOn = new Map<string, string>();
  for (const name of byLiveness) {
    const host = hosts.get(name)!;
    const stays: Array<{ slot: Slot; version: string }> = [];
    for (const instance of input.current.get(name)?.instances ?? []) {
      const slot = wanted.get(instance.identifier);
      if (!slot || placedOn.has(instance.identifier) || !canStay(host, slot.connector)) continue;
      stays.push({ slot, version: instance.version });
      placedOn.set(instance.identifier, name);
    }
    stays.sort((a, b) => compareSlots(a.slot, b.slot));
    // a host over its capacity keeps its first ones; the rest are placed elsewhere
    const room = host.capacity ?? Infinity;
    for (const dropped of stays.splice(room)) placedOn.delete(identifierOf(dropped.slot));
    kept.set(name, stays);
  }

  const total = new Map<string, number>(names.map((n) => [n, kept.get(n)?.length ?? 0]));
  const assigned = new Map<string, Assignment[]>(names.map((n) => [n, []]));
  const missing: PlacementGaps['missing'] = [];
  for (const name of names) {
    for (const { slot, version } of kept.get(name) ?? []) assigned.get(name)!.push(assignment(slot, version));
  }

  // 2. place: every identifier without a host goes to the eligible host with the fewest of this connector, then the
  //    fewest in all, then the first name; nothing already placed moves to rebalance. A moved identifier keeps its
  //    version; a new one gets the recorded version (none recorded: it waits)
  const eligible = (h: PlacementHost, c: PlacedConnector): boolean =>
    h.live && !h.leaving && h.cordon === 'none' && labelsMatch(h.labels, c.hosts) && !h.refuses.has(productKey(c)) && (total.get(h.name) ?? 0) < (h.capacity ?? Infinity);
  for (const c of connectors) {
    const mine = new Map<string, number>();
    for (const name of names) mine.set(name, (assigned.get(name) ?? []).filter((a) => a.type === c.type && a.product === c.product).length);
    let unplaced = 0;
    for (let n = 1; n <= c.instances; n += 1) {
      const slot: Slot = { connector: c, n };
      const identifier = identifierOf(slot);
      if (placedOn.has(identifier)) continue;
      const version = versions.get(identifier) ?? c.version;
      const choice = version === null ? undefined : pick(names.map((name) => hosts.get(name)!).filter((h) => eligible(h, c)), mine, total);
      if (!choice || version === null) {
        unplaced += 1;
        continue;
      }
      assigned.get(choice)!.push(assignment(slot, version));
      placedOn.set(identifierOf(slot), choice);
      mine.set(choice, (mine.get(choice) ?? 0) + 1);
      total.set(choice, (total.get(choice) ?? 0) + 1);
    }
    if (unplaced > 0) missing.push({ product: productKey(c), wanted: c.instances, placed: c.instances - unplaced, reason: gapReason(c, [...hosts.values()], total, names.some((name) => eligible(hosts.get(name)!, c))) });
  }

  const assignments = new Map<string, HostAssignments>();
  const changed: string[] = [];
  const removed: string[] = [];
  for (const name of names) {
    const host = hosts.get(name)!;
    const instances = assigned.get(name)!.sort((a, b) => `${a.type}/${a.product}`.localeCompare(`${b.type}/${b.product}`) || a.n - b.n);
    const current = input.current.get(name);
    if (instances.length === 0 && !host.live) {
      if (current) removed.push(name);
      continue;
    }
    if (instances.length === 0 && !current) continue;
    const next: HostAssignments = { at: now, lostSince: lostSince.get(name) ?? null, instances };
    if (current && sameAssignments(current, next)) {
      assignments.set(name, { ...next, at: current.at });
      continue;
    }
    assignments.set(name, next);
    changed.push(name);
  }
  return { assignments, changed, removed, missing };
}

function identifierOf(slot: Slot): string {
  return fleetIdentifier(slot.connector.type, slot.connector.product, slot.connector.major, slot.n);
}

function compareSlots(a: Slot, b: Slot): number {
  return productKey(a.connector).localeCompare(productKey(b.connector)) || a.n - b.n;
}

function assignment(slot: Slot, version: string): Assignment {
  const c = slot.connector;
  return { identifier: identifierOf(slot), type: c.type, product: c.product, major: c.major, n: slot.n, version, config: c.config, restart: c.restart };
}

function pick(candidates: PlacementHost[], mine: Map<string, number>, total: Map<string, number>): string | undefined {
  let best: PlacementHost | undefined;
  for (const h of candidates) {
    if (!best) {
      best = h;
      continue;
    }
    const order = (mine.get(h.name) ?? 0) - (mine.get(best.name) ?? 0) || (total.get(h.name) ?? 0) - (total.get(best.name) ?? 0) || h.name.localeCompare(best.name);
    if (order < 0) best = h;
  }
  return best?.name;
}

/** Why instances of `c` found no host: `no live host matches {zone: eu-2}`, `3 matching hosts: 1 cordoned, 2 full`. */
function gapReason(c: PlacedConnector, hosts: PlacementHost[], total: Map<string, number>, eligibleSomewhere: boolean): string {
  if (c.version === null && eligibleSomewhere) return `no version to run: ${c.versionError ?? 'none resolved yet'}`;
  const live = hosts.filter((h) => h.live && !h.leaving);
  const matching = live.filter((h) => labelsMatch(h.labels, c.hosts));
  if (matching.length === 0) return Object.keys(c.hosts).length === 0 ? 'no live host' : `no live host matches ${formatSelector(c.hosts)}`;
  const counts = { cordoned: 0, draining: 0, refusing: 0, full: 0 };
  for (const h of matching) {
    if (h.cordon === 'cordon') counts.cordoned += 1;
    else if (h.cordon === 'drain') counts.draining += 1;
    else if (h.refuses.has(productKey(c))) counts.refusing += 1;
    else if ((total.get(h.name) ?? 0) >= (h.capacity ?? Infinity)) counts.full += 1;
  }
  const parts = [
    counts.cordoned > 0 ? `${counts.cordoned} cordoned` : '',
    counts.draining > 0 ? `${counts.draining} draining` : '',
    counts.refusing > 0 ? `${counts.refusing} refusing it (CONFIG_INVALID)` : '',
    counts.full > 0 ? `${counts.full} at capacity` : '',
  ].filter((p) => p !== '');
  return `${matching.length} matching host${matching.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** Equal but for `at` (values compared in a canonical key order: etcd gives back what we wrote, others may not). */
function sameAssignments(a: HostAssignments, b: HostAssignments): boolean {
  const canon = (h: HostAssignments): string =>
    JSON.stringify([h.lostSince, h.instances.map((i) => [i.identifier, i.type, i.product, i.major, i.n, i.version, i.restart, Object.entries(i.config).sort(([x], [y]) => x.localeCompare(y))])]);
  return canon(a) === canon(b);
}
