// Identifiers are fleet-unique (docs/fleet.md, identifier claims): claimed before an instance starts, under the
// host's claims lease (reassignAfter), so an identifier is not free while a frozen or cut-off host may still run it.
import type { Etcd3 } from 'etcd3';
import { WorkerAdminError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { withDeadline, type HostLeases } from '../registry/leases.js';

interface Holder {
  host: string;
  incarnation: string;
}

export class IdentifierClaims {
  /** Identifiers this host holds. */
  private readonly held = new Set<string>();
  /** True when the coordinator moved `identifier` here from `holder`, which is live and no longer has it assigned. */
  movedHere: (identifier: string, holder: string) => boolean = () => false;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly host: string,
    private readonly leases: () => HostLeases | undefined,
    private readonly logger: Logger,
  ) {}

  private key(identifier: string): string {
    return `${this.prefix}/identifiers/${identifier}`;
  }

  /** Claims `identifier` for this host; IDENTIFIER_CONFLICT naming the holder when another host has it. */
  async claim(identifier: string): Promise<void> {
    const leases = this.leases();
    if (!leases) throw new WorkerAdminError('FLEET_ENGINE', `etcd: host ${this.host} has no lease: ${identifier} cannot be claimed now`);
    const key = this.key(identifier);
    const value = JSON.stringify({ host: this.host, incarnation: leases.incarnation } satisfies Holder);
    const result = await withDeadline(
      this.client.if(key, 'Create', '==', 0).then(this.client.put(key).value(value).lease(leases.claimsId)).else(this.client.get(key)).commit(),
      2000,
    );
    if (!result.succeeded) {
      const kv = result.responses[0]?.response_range?.kvs[0];
      const holder = kv ? parseHolder(kv.value.toString()) : undefined;
      if (holder?.host !== this.host && (holder === undefined || !this.movedHere(identifier, holder.host))) {
        throw new WorkerAdminError('IDENTIFIER_CONFLICT', `${identifier} runs on host ${holder?.host ?? '?'} of this fleet: choose another identifier, or stop it there`);
      }
      // ours from an earlier incarnation, or moved here by the coordinator (the old host drains its copy once this one is
      // READY, and its release then finds the claim not its own): put it under our claims lease, comparing the holder
      if (holder?.host !== this.host) this.logger.info({ identifier, from: holder?.host }, 'identifier moved here by the coordinator: claim taken over');
      const taken = await withDeadline(this.client.if(key, 'Mod', '==', kv!.mod_revision).then(this.client.put(key).value(value).lease(leases.claimsId)).commit(), 2000);
      if (!taken.succeeded) throw new WorkerAdminError('IDENTIFIER_CONFLICT', `${identifier} was claimed by another host at the same moment: try again`);
    }
    this.held.add(identifier);
  }

  /** Gives `identifier` up, only if this host holds it. */
  async release(identifier: string): Promise<void> {
    this.held.delete(identifier);
    const key = this.key(identifier);
    const text = await withDeadline(this.client.get(key).string(), 2000);
    if (text === null || parseHolder(text)?.host !== this.host) return;
    await withDeadline(this.client.if(key, 'Value', '==', text).then(this.client.delete().key(key)).commit(), 2000);
  }

  /** After a new incarnation: claims every held identifier again; those now held elsewhere are returned. */
  async reclaimAll(): Promise<string[]> {
    const lost: string[] = [];
    for (const identifier of [...this.held]) {
      try {
        await this.claim(identifier);
      } catch (error) {
        if (!(error instanceof WorkerAdminError) || error.code !== 'IDENTIFIER_CONFLICT') throw error;
        this.held.delete(identifier);
        lost.push(identifier);
        this.logger.warn({ identifier }, 'identifier now held by another host: this host must stop its copy');
      }
    }
    return lost;
  }

  async releaseAll(): Promise<void> {
    for (const identifier of [...this.held]) await this.release(identifier).catch(() => undefined);
  }
}

function parseHolder(text: string): Holder | undefined {
  try {
    return JSON.parse(text) as Holder;
  } catch {
    return undefined;
  }
}
