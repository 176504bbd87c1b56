// The fleet's Prometheus metrics, read from the host at scrape time (docs/fleet.md): hosts, cross-host commands, claims.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { FleetHost, HostState } from './host.js';

const HOST_STATES: readonly HostState[] = ['JOINING', 'LIVE', 'CUT_OFF', 'FENCED', 'LEAVING', 'LEFT'];

/** A counter whose value is read from `value` at each scrape. */
function readCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Array<[Record<L, string>, number]>): void {
  new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels as never, value);
    },
  });
}

/** Registers the fleet gauges and counters of `host` on `registry`. */
export function registerFleetMetrics(registry: Registry, host: FleetHost): void {
  const registers = [registry];
  new Gauge({
    name: 'worker_admin_fleet_hosts', help: 'Hosts of the fleet as this host sees them (itself included), by status', labelNames: ['status'] as const, registers,
    collect() {
      const others = host.directory.all();
      this.set({ status: 'live' }, 1 + others.filter((h) => !h.silent && h.record.state === 'live').length);
      this.set({ status: 'leaving' }, others.filter((h) => h.record.state === 'leaving').length);
      this.set({ status: 'silent' }, others.filter((h) => h.silent).length);
    },
  });
  new Gauge({
    name: 'worker_admin_fleet_host_state', help: 'This host in the fleet: 1 for its current state', labelNames: ['state'] as const, registers,
    collect() {
      for (const state of HOST_STATES) this.set({ state }, host.state === state ? 1 : 0);
    },
  });
  readCounter(registry, 'worker_admin_fleet_hosts_lost_total', 'Host incarnations this host saw lost (lease expired, restarted, or silent)', [] as const, () => [[{}, host.directory.lostCount]]);
  readCounter(registry, 'worker_admin_fleet_cross_host_commands_total', 'Commands this router sent to other hosts, by outcome', ['outcome'] as const, () => {
    const c = host.outbound.counters;
    return [[{ outcome: 'sent' }, c.sent], [{ outcome: 'answered' }, c.answered], [{ outcome: 'bounced' }, c.bounced], [{ outcome: 'host_lost' }, c.hostLost], [{ outcome: 'transport_lost' }, c.transportLost], [{ outcome: 'late' }, c.late]];
  });
  readCounter(registry, 'worker_admin_fleet_inbound_commands_total', 'Commands other hosts sent here, by outcome', ['outcome'] as const, () => [
    [{ outcome: 'served' }, host.inboundCounts().served],
    [{ outcome: 'bounced' }, host.inboundCounts().bounced],
  ]);
  readCounter(registry, 'worker_admin_fleet_claims_total', 'Client uuids claimed fleet-wide, by result', ['result'] as const, () => {
    const c = host.claims.counters;
    return [[{ result: 'won' }, c.won], [{ result: 'replayed' }, c.replayed], [{ result: 'conflict' }, c.conflicts]];
  });
  readCounter(registry, 'worker_admin_fleet_claim_fallbacks_total', 'Uuid claims or records that fell back to this host alone (etcd unreachable)', [] as const, () => [[{}, host.claims.counters.fallbacks]]);
}
