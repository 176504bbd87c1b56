// What one coordinator pass reads (docs/fleet.md, the coordinator: work): every key it decides from, in one
// read-only transaction, so the pass sees the fleet at one etcd revision.
import type { Etcd3, IKeyValue } from 'etcd3';
import type { Logger } from '../../common/log.js';
import type { Cordon, DesiredConnector, DesiredOverride } from '../desired/types.js';
import type { FleetKeys } from '../keys.js';
import type { HostAssignments, HostReport, PlacementGaps, RunningVersion } from '../placement/types.js';
import { parseHostRecord, type HostRecord } from '../registry/host-record.js';
import { withDeadline } from '../registry/leases.js';
import type { RolloutControl, RolloutRecord, RolloutRequest } from '../rollout/types.js';

/** A value with the mod revision it was read at (for a fenced write's extra comparison). */
export interface Versioned<T> {
  value: T;
  modRevision: string;
}

/** The fleet as one pass sees it. Maps of products are keyed `type/product`, maps of hosts by host name. */
export interface FleetView {
  /** The etcd revision everything was read at. */
  revision: string;
  /** When it was read (ms, the coordinator's clock). */
  now: number;
  desired: Map<string, DesiredConnector>;
  overrides: Map<string, DesiredOverride>;
  /** Records of live (and leaving) hosts. */
  hosts: Map<string, HostRecord>;
  cordons: Map<string, Cordon>;
  assignments: Map<string, Versioned<HostAssignments>>;
  reports: Map<string, HostReport>;
  running: Map<string, Versioned<RunningVersion>>;
  rollouts: Map<string, Versioned<RolloutRecord>>;
  /** Pending rollout requests of each product, oldest first. */
  requests: Map<string, Array<Versioned<RolloutRequest>>>;
  controls: Map<string, Versioned<RolloutControl>>;
  placement: Versioned<PlacementGaps> | undefined;
  /** How many K/history entries there are. */
  historyCount: number;
}

/** The end of the range of every key under `prefix` (its last byte plus one). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1] = end[end.length - 1]! + 1;
  return end;
}

/** Reads the view in one transaction (2 s deadline); values that do not parse are skipped with a warning. */
export async function readView(etcd: Etcd3, keys: FleetKeys, logger: Logger, now: number): Promise<FleetView> {
  const prefixes = [keys.desiredPrefix, keys.overridesPrefix, keys.hostsPrefix, keys.cordonsPrefix, keys.assignmentsPrefix, keys.reportsPrefix, keys.runningPrefix, keys.rolloutsPrefix, keys.rolloutRequestsPrefix, keys.rolloutControlPrefix];
  const response = await withDeadline(etcd.kv.txn({
    success: [
      ...prefixes.map((p) => ({ request_range: { key: Buffer.from(p), range_end: prefixEnd(p) } })),
      { request_range: { key: Buffer.from(keys.placement) } },
      { request_range: { key: Buffer.from(keys.historyPrefix), range_end: prefixEnd(keys.historyPrefix), count_only: true } },
    ],
  }), 2000);
  const ranges = response.responses.map((r) => r.response_range);
  const kvs = (i: number): IKeyValue[] => ranges[i]?.kvs ?? [];
  const rest = (kv: IKeyValue, prefix: string): string => kv.key.toString().slice(prefix.length);
  const parse = <T>(kv: IKeyValue): T | undefined => {
    try {
      return JSON.parse(kv.value.toString()) as T;
    } catch {
      logger.warn({ key: kv.key.toString() }, 'coordinator: a value that is not JSON is ignored');
      return undefined;
    }
  };
  const versioned = <T>(kv: IKeyValue): Versioned<T> | undefined => {
    const value = parse<T>(kv);
    return value === undefined ? undefined : { value, modRevision: String(kv.mod_revision) };
  };
  const collect = <T>(i: number, prefix: string, wrap: (kv: IKeyValue) => T | undefined): Map<string, T> => {
    const out = new Map<string, T>();
    for (const kv of kvs(i)) {
      const value = wrap(kv);
      if (value !== undefined) out.set(rest(kv, prefix), value);
    }
    return out;
  };

  const desired = collect(0, keys.desiredPrefix, (kv) => validDesired(parse<DesiredConnector>(kv)));
  const hosts = new Map<string, HostRecord>();
  for (const kv of kvs(2)) {
    const record = parseHostRecord(kv.value.toString());
    if (record) hosts.set(rest(kv, keys.hostsPrefix), record);
  }
  const requests = new Map<string, Array<Versioned<RolloutRequest>>>();
  for (const kv of kvs(8)) {
    const product = rest(kv, keys.rolloutRequestsPrefix).split('/').slice(0, 2).join('/');
    const request = versioned<RolloutRequest>(kv);
    if (!request) continue;
    const list = requests.get(product) ?? [];
    list.push(request);
    requests.set(product, list);
  }
  for (const list of requests.values()) list.sort((a, b) => a.value.at - b.value.at || Number(BigInt(a.modRevision) - BigInt(b.modRevision)));
  const placementKv = kvs(10)[0];
  return {
    revision: String(response.header.revision),
    now,
    desired,
    overrides: collect(1, keys.overridesPrefix, (kv) => parse<DesiredOverride>(kv)),
    hosts,
    cordons: collect(3, keys.cordonsPrefix, (kv) => parse<Cordon>(kv)),
    assignments: collect(4, keys.assignmentsPrefix, (kv) => versioned<HostAssignments>(kv)),
    reports: collect(5, keys.reportsPrefix, (kv) => parse<HostReport>(kv)),
    running: collect(6, keys.runningPrefix, (kv) => versioned<RunningVersion>(kv)),
    rollouts: collect(7, keys.rolloutsPrefix, (kv) => versioned<RolloutRecord>(kv)),
    requests,
    controls: collect(9, keys.rolloutControlPrefix, (kv) => versioned<RolloutControl>(kv)),
    placement: placementKv ? versioned<PlacementGaps>(placementKv) : undefined,
    historyCount: Number(ranges[11]?.count ?? 0),
  };
}

/** A desired connector with the fields placement needs, or undefined. */
function validDesired(value: DesiredConnector | undefined): DesiredConnector | undefined {
  if (!value || typeof value.type !== 'string' || typeof value.product !== 'string' || !Number.isInteger(value.instances) || !Array.isArray(value.versions)) return undefined;
  return { ...value, hosts: value.hosts ?? {}, config: value.config ?? {}, restart: value.restart ?? 'always' };
}
