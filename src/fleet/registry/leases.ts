// A host's two etcd leases and our own keepalive loop (etcd3's Lease reports a loss only after ~2 x TTL).
import { EtcdLeaseInvalidError, type Etcd3, type Lease } from 'etcd3';
import type { Logger } from '../../common/log.js';

/** LIVE: renewed within leaseTtl/3; CUT_OFF: not; LAPSED: etcd said the lease is gone (a new incarnation is needed). */
export type LeaseHealth = 'LIVE' | 'CUT_OFF' | 'LAPSED';

interface LeaseTimes {
  leaseTtlMs: number;
  claimsTtlMs: number;
}

/** Both leases of one incarnation: the host lease (`leaseTtl`) and the claims lease (`reassignAfter`). */
export class HostLeases {
  health: LeaseHealth = 'LIVE';
  /** The incarnation: the host lease id in hex (read on every fleet message: made once). */
  readonly incarnation: string;
  /** When the last keepalive of the host lease that succeeded was sent (ms, local clock): a slow answer adds nothing. */
  renewedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly client: Etcd3,
    readonly host: Lease,
    readonly claims: Lease,
    readonly hostId: string,
    readonly claimsId: string,
    private readonly times: LeaseTimes,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.incarnation = BigInt(hostId).toString(16);
  }

  /** Grants both leases (2 s deadline each). */
  static async grant(client: Etcd3, times: LeaseTimes, logger: Logger, now: () => number = Date.now): Promise<HostLeases> {
    const sentAt = now();
    const host = client.lease(Math.max(1, Math.ceil(times.leaseTtlMs / 1000)), { autoKeepAlive: false });
    const claims = client.lease(Math.max(1, Math.ceil(times.claimsTtlMs / 1000)), { autoKeepAlive: false });
    const [hostId, claimsId] = await Promise.all([withDeadline(host.grant(), 2000), withDeadline(claims.grant(), 2000)]);
    const leases = new HostLeases(client, host, claims, hostId, claimsId, times, logger, now);
    leases.renewedAt = sentAt;
    return leases;
  }

  /** Renews every leaseTtl/3; `onChange` hears every change of health. */
  keepAlive(onChange: (health: LeaseHealth) => void): void {
    const every = Math.max(200, Math.floor(this.times.leaseTtlMs / 3));
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      const next = await this.renewOnce(every);
      if (next !== this.health) {
        const from = this.health;
        this.health = next;
        this.logger.info({ from, to: next, incarnation: this.incarnation }, 'fleet lease health changed');
        onChange(next);
      }
      if (!this.stopped && this.health !== 'LAPSED') this.timer = setTimeout(() => void tick(), every);
    };
    this.timer = setTimeout(() => void tick(), every);
  }

  /** How long since the last successful renewal. */
  sinceRenewal(): number {
    return this.now() - this.renewedAt;
  }

  private async renewOnce(deadlineMs: number): Promise<LeaseHealth> {
    const sentAt = this.now();
    try {
      const [host] = await Promise.all([withDeadline(this.host.keepaliveOnce(), deadlineMs), withDeadline(this.claims.keepaliveOnce(), deadlineMs)]);
      if (Number(host.TTL) <= 0) return 'LAPSED';
      this.renewedAt = sentAt;
      return 'LIVE';
    } catch (error) {
      if (isLeaseGone(error)) return 'LAPSED';
      this.logger.warn({ err: error, sinceRenewalMs: this.sinceRenewal() }, 'fleet lease keepalive failed');
      return this.sinceRenewal() >= this.times.leaseTtlMs ? 'LAPSED' : 'CUT_OFF';
    }
  }

  /** Stops renewing; the leases lapse by themselves. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.host.release();
    this.claims.release();
  }

  /** Stops renewing and revokes both leases (their keys go at once). Best effort, 2 s. */
  async revoke(): Promise<void> {
    this.stop();
    await Promise.allSettled([
      withDeadline(this.client.leaseClient.leaseRevoke({ ID: this.hostId }), 2000),
      withDeadline(this.client.leaseClient.leaseRevoke({ ID: this.claimsId }), 2000),
    ]);
  }
}

function isLeaseGone(error: unknown): boolean {
  return error instanceof EtcdLeaseInvalidError;
}

/** `promise`, or a rejection after `ms` (etcd3 streams have no deadline of their own). */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`etcd did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
