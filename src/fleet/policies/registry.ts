// This host's ops policies in the fleet (docs/fleet.md, policies): each name registered as K/policies/NAME on the host
// lease (create-if-absent, a POST's policies in one transaction), put again under a new lease, given up on DELETE; the
// ticks of the names it holds are followed and handed to the policy manager.
import type { Etcd3 } from 'etcd3';
import { errorMessage, isWorkerAdminError, WorkerAdminError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { packageText, type PolicySpec } from '../../ops/policies/policy.js';
import type { PolicyFleet } from '../../ops/policies/ports.js';
import type { FleetKeys } from '../keys.js';
import { withDeadline, type HostLeases } from '../registry/leases.js';
import { TickFollower, type TickHandler } from './follower.js';
import { parseRegistration, type PolicyRegistration } from './tick.js';

interface RegistryDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  host: string;
  leases: () => Pick<HostLeases, 'hostId' | 'incarnation'> | undefined;
  logger: Logger;
  now: () => number;
}

/** etcd takes at most 128 operations in one transaction (--max-txn-ops): a POST registers at most this many. */
const MAX_PER_TRANSACTION = 100;

interface Held {
  value: PolicyRegistration;
  /** The mod revision of our put: a delete compares it (a key another host has since is left alone). */
  revision: string;
}

export class FleetPolicies implements PolicyFleet {
  /** The names this host holds, re-put under a new lease when the host re-registers. */
  private readonly held = new Map<string, Held>();
  private follower: TickFollower | undefined;
  private closed = false;

  constructor(private readonly deps: RegistryDeps) {}

  async register(specs: PolicySpec[]): Promise<void> {
    if (specs.length === 0) return;
    if (specs.length > MAX_PER_TRANSACTION) {
      throw new WorkerAdminError('POLICY_INVALID', `${specs.length} policies in one request: a fleet registers at most ${MAX_PER_TRANSACTION} at once (one etcd transaction); send them in several requests`);
    }
    const leases = this.lease();
    const values = specs.map((spec) => ({ name: spec.name, key: this.deps.keys.policies(spec.name), value: this.registration(spec, leases.incarnation) }));
    const { etcd } = this.deps;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      let txn = etcd.if(values[0]!.key, 'Create', '==', 0);
      for (const v of values.slice(1)) txn = txn.and(v.key, 'Create', '==', 0);
      const result = await this.etcd(
        txn.then(...values.map((v) => etcd.put(v.key).value(JSON.stringify(v.value)).lease(leases.hostId))).else(...values.map((v) => etcd.get(v.key))).commit(),
        'policies not registered',
      );
      if (result.succeeded) {
        for (const v of values) this.held.set(v.name, { value: v.value, revision: String(result.header.revision) });
        return;
      }
      // a name another host holds is refused; this host's own keys of an earlier incarnation are cleared, then once more
      const stale: Array<{ key: string; revision: string }> = [];
      result.responses.forEach((response, i) => {
        const kv = response.response_range?.kvs[0];
        if (!kv) return;
        if (parseRegistration(kv.value.toString())?.host !== this.deps.host) throw new WorkerAdminError('POLICY_EXISTS', `policy '${values[i]!.name}' already exists`);
        stale.push({ key: values[i]!.key, revision: String(kv.mod_revision) });
      });
      if (stale.length === 0) continue; // gone meanwhile
      let clear = etcd.if(stale[0]!.key, 'Mod', '==', stale[0]!.revision);
      for (const s of stale.slice(1)) clear = clear.and(s.key, 'Mod', '==', s.revision);
      await this.etcd(clear.then(...stale.map((s) => etcd.delete().key(s.key))).commit(), 'stale policies not cleared');
    }
    throw new WorkerAdminError('FLEET_ENGINE', `etcd: policies ${specs.map((s) => `'${s.name}'`).join(', ')} changed in the fleet meanwhile: try again`);
  }

  async unregister(name: string): Promise<void> {
    const held = this.held.get(name);
    const { etcd, keys } = this.deps;
    if (held) {
      const mine = await this.etcd(etcd.if(keys.policies(name), 'Mod', '==', held.revision).then(etcd.delete().key(keys.policies(name)), etcd.delete().key(keys.ticks(name))).commit(), `policy '${name}' not unregistered`);
      // gone with an earlier lease: its tick record goes all the same, unless another host registered the name since
      if (!mine.succeeded) await this.etcd(etcd.if(keys.policies(name), 'Create', '==', 0).then(etcd.delete().key(keys.ticks(name))).commit(), `policy '${name}' not unregistered`);
    }
    this.held.delete(name);
    this.follower?.forget(name);
  }

  follow(onTick: TickHandler): void {
    if (this.follower || this.closed) return;
    this.follower = new TickFollower({ ...this.deps, holds: (name) => this.held.has(name) }, onTick);
    this.follower.start();
  }

  /** The host has a new lease: every name it holds is put under it again (a name another host took meanwhile is lost, logged). */
  async reRegister(): Promise<void> {
    const leases = this.lease();
    const { etcd, keys, logger } = this.deps;
    for (const [name, held] of [...this.held]) {
      const key = keys.policies(name);
      const value = JSON.stringify({ ...held.value, incarnation: leases.incarnation } satisfies PolicyRegistration);
      const result = await this.etcd(etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(value).lease(leases.hostId)).else(etcd.get(key)).commit(), `policy '${name}' not registered again`);
      let revision = String(result.header.revision);
      if (!result.succeeded) {
        const kv = result.responses[0]?.response_range?.kvs[0];
        const holder = kv ? parseRegistration(kv.value.toString()) : undefined;
        if (!kv || holder?.host !== this.deps.host) {
          logger.error({ policy: name, holder: holder?.host }, 'policy registered by another host while this one was away: it gets no ticks here (delete it here)');
          this.held.delete(name);
          continue;
        }
        const taken = await this.etcd(etcd.if(key, 'Mod', '==', String(kv.mod_revision)).then(etcd.put(key).value(value).lease(leases.hostId)).commit(), `policy '${name}' not registered again`);
        if (!taken.succeeded) continue; // changed at this very moment: the next re-registration tries again
        revision = String(taken.header.revision);
      }
      this.held.set(name, { value: { ...held.value, incarnation: leases.incarnation }, revision });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.follower?.close();
  }

  private registration(spec: PolicySpec, incarnation: string): PolicyRegistration {
    return {
      host: this.deps.host, incarnation, package: packageText(spec), schedule: spec.schedule ?? null, command: spec.command,
      dryRun: spec.dryRun, since: this.held.get(spec.name)?.value.since ?? this.deps.now(),
    };
  }

  private lease(): Pick<HostLeases, 'hostId' | 'incarnation'> {
    const leases = this.deps.leases();
    if (!leases) throw new WorkerAdminError('FLEET_ENGINE', `etcd: host ${this.deps.host} has no lease now (re-registering): try again`);
    return leases;
  }

  // etcd unreachable or refusing: FLEET_ENGINE naming etcd and what was not done (each write is one transaction)
  private async etcd<T>(promise: Promise<T>, what: string): Promise<T> {
    try {
      return await withDeadline(promise, 2000);
    } catch (error) {
      if (isWorkerAdminError(error)) throw error;
      throw new WorkerAdminError('FLEET_ENGINE', `etcd: ${what}: ${errorMessage(error)}`, { cause: error });
    }
  }
}
