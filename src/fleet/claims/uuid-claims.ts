// Fleet-wide replay (docs/fleet.md, a uuid claim): the first router to claim a client's uuid runs it; others wait for
// the reply it records. etcd out of reach: the receiving host's own replay cache decides, logged and counted. The
// claims and the recordings of one turn of the event loop each go to etcd in one transaction (nested-batch.ts).
import { randomUUID } from 'node:crypto';
import { CompareResult, CompareTarget, type Etcd3, type ICompare, type IKeyValue, type IRequestOp, type IResponseOp, type ITxnRequest, type Lease } from 'etcd3';
import type { Logger } from '../../common/log.js';
import type { Reply } from '../../proto/types.js';
import type { ReplayClaims } from '../../router/fleet-link.js';
import { routerReply } from '../../router/pending.js';
import { withDeadline } from '../registry/leases.js';
import { NestedTxnBatcher } from './nested-batch.js';

/** Replies up to this size are recorded whole; larger ones without their payload (etcd takes 1.5 MiB requests). */
const INLINE_PAYLOAD = 256 * 1024;
const WINDOW_S = 11 * 60;
const CALL_MS = 2000;

interface ClaimValue {
  fingerprint: string;
  host: string;
  incarnation: string;
  state: 'pending' | 'done';
  /** This claim's own mark: a claim the etcd client sent again after it was applied finds it and knows it won. */
  nonce?: string;
  reply?: Reply;
  /** Set when the recorded reply left its payload out. */
  payloadOmitted?: number;
}

type ClaimOutcome = { won: true; revision: string } | { won: false; value: ClaimValue | undefined; revision: string };

interface ClaimCounters {
  won: number;
  replayed: number;
  conflicts: number;
  fallbacks: number;
}

interface ClaimsContext {
  host: string;
  incarnation(): string;
  /** True when `incarnation` of `host` is known to be lost. */
  isLost(host: string, incarnation: string): boolean;
}

export class UuidClaims implements ReplayClaims {
  readonly counters: ClaimCounters = { won: 0, replayed: 0, conflicts: 0, fallbacks: 0 };
  private lease: { lease: Lease; id: Promise<string>; at: number } | undefined;
  /** Create-if-absent per uuid, batched per turn. */
  private readonly claims: NestedTxnBatcher;
  /** First replies recorded over their own pending claims, batched per turn. */
  private readonly records: NestedTxnBatcher;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly ctx: ClaimsContext,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // no deadline on the batch itself: each caller waits at most CALL_MS, and a claim that lands later is still used
    const commit = (success: IRequestOp[]) => client.kv.txn({ compare: [], success, failure: [] });
    this.claims = new NestedTxnBatcher(commit);
    this.records = new NestedTxnBatcher(commit);
  }

  async guard(uuid: string, fingerprint: string, timeoutMs: number, run: () => Promise<Reply>): Promise<Reply> {
    const key = `${this.prefix}/uuids/${uuid}`;
    const mine: ClaimValue = { fingerprint, host: this.ctx.host, incarnation: this.ctx.incarnation(), state: 'pending', nonce: randomUUID() };
    const sent = this.claim(key, mine);
    let claim: ClaimOutcome;
    try {
      claim = await withDeadline(sent, CALL_MS);
    } catch (error) {
      this.counters.fallbacks += 1;
      this.logger.warn({ err: error, uuid }, 'uuid claim not possible (etcd unreachable): replay checked on this host only');
      const reply = await run();
      // a claim that landed after its deadline holds the uuid: the reply run here is recorded over it all the same
      sent.then((late) => (late.won ? this.record(key, mine, reply, late.revision) : undefined), () => undefined);
      return reply;
    }
    if (claim.won) {
      this.counters.won += 1;
      return this.record(key, mine, await run(), claim.revision);
    }
    const existing = claim.value;
    if (existing && existing.fingerprint !== fingerprint) {
      this.counters.conflicts += 1;
      return routerReply(uuid, 'INVALID', `UUID_CONFLICT: uuid ${uuid} was already used with another command or payload`);
    }
    this.counters.replayed += 1;
    return this.follow(key, uuid, existing, claim.revision, timeoutMs);
  }

  /** Create-if-absent; on loss, what is there and the revision to watch from. */
  private async claim(key: string, value: ClaimValue): Promise<ClaimOutcome> {
    const { txn, bytes } = putElseGet(key, value, await this.windowLease(), { target: CompareTarget.Create, create_revision: 0 });
    const result = await this.claims.add(key, txn, bytes);
    if (result.succeeded) return { won: true, revision: result.revision };
    const found = readBack(result.responses);
    // this very claim, applied by a send the etcd client made again: won, at the revision that wrote it
    if (found && found.value?.nonce === value.nonce) return { won: true, revision: found.kv.mod_revision };
    return { won: false, value: found?.value, revision: result.revision };
  }

  /**
   * The first reply, recorded before it is returned (a fresh window from now), only over our own pending claim. Returns
   * the reply every router returns for this uuid: this one, or the one recorded first (a waiter that took this host for
   * lost recorded HOST_LOST), this one then logged and dropped.
   */
  private async record(key: string, mine: ClaimValue, reply: Reply, claimRevision: string): Promise<Reply> {
    const done: ClaimValue = { ...mine, state: 'done', reply: reply.payload.length <= INLINE_PAYLOAD ? reply : { ...reply, payload: '' } };
    if (reply.payload.length > INLINE_PAYLOAD) done.payloadOmitted = reply.payload.length;
    try {
      const written = this.windowLease().then((leaseId) => {
        const { txn, bytes } = putElseGet(key, done, leaseId, { target: CompareTarget.Mod, mod_revision: claimRevision });
        return this.records.add(key, txn, bytes);
      });
      const result = await withDeadline(written, CALL_MS);
      const recorded = result.succeeded ? undefined : readBack(result.responses)?.value;
      if (recorded?.state === 'done' && recorded.reply && recorded.nonce !== mine.nonce) {
        this.logger.warn({ key, status: reply.status, recorded: recorded.reply.status }, 'uuid reply dropped: another router recorded one first (this host was taken for lost)');
        return this.replay(recorded);
      }
    } catch (error) {
      this.counters.fallbacks += 1;
      this.logger.warn({ err: error, key }, 'uuid reply not recorded in the fleet (etcd unreachable): a replay through another router may wait');
    }
    return reply;
  }

  /** Waits for the owner's recorded reply; HOST_LOST (recorded) when the owner is lost; TIMEOUT at the command's timeout. */
  private async follow(key: string, uuid: string, existing: ClaimValue | undefined, revision: string, timeoutMs: number): Promise<Reply> {
    if (existing?.state === 'done' && existing.reply) return this.replay(existing);
    const until = this.now() + timeoutMs;
    let watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>> | undefined;
    let tick: NodeJS.Timeout | undefined;
    try {
      let latest = existing;
      let latestRevision = revision;
      const done = new Promise<ClaimValue | undefined>((resolve) => {
        void this.client
          .watch()
          .key(key)
          .startRevision((BigInt(revision) + 1n).toString())
          .create()
          .then((w) => {
            watcher = w;
            w.on('put', (kv) => {
              const value = parse(kv.value.toString());
              latest = value;
              latestRevision = kv.mod_revision;
              if (value?.state === 'done') resolve(value);
            });
            w.on('delete', () => resolve(undefined));
          }, () => resolve(undefined));
        tick = setInterval(() => {
          if (latest && latest.state === 'pending' && this.ctx.isLost(latest.host, latest.incarnation)) resolve(latest);
          if (this.now() >= until) resolve(undefined);
        }, 200);
      });
      const value = await done;
      clearInterval(tick);
      if (value?.state === 'done' && value.reply) return this.replay(value);
      if (value?.state === 'pending') return await this.recordLost(key, uuid, value, latestRevision);
      return routerReply(uuid, 'TIMEOUT', `uuid ${uuid} is being served through another router (host ${latest?.host ?? '?'}): no reply within ${timeoutMs} ms`);
    } finally {
      clearInterval(tick);
      await watcher?.cancel().catch(() => undefined);
    }
  }

  /** The owner was lost before recording: record HOST_LOST in its place (or return what won that race). */
  private async recordLost(key: string, uuid: string, owner: ClaimValue, revision: string): Promise<Reply> {
    const reply = routerReply(uuid, 'FAIL', `HOST_LOST: host ${owner.host} (incarnation ${owner.incarnation}) was lost while it served uuid ${uuid}`);
    try {
      const leaseId = await withDeadline(this.windowLease(), CALL_MS);
      // a nonce of its own, not the owner's: the owner's record, late, then knows another reply came first
      const result = await withDeadline(
        this.client.if(key, 'Mod', '==', revision).then(this.client.put(key).value(JSON.stringify({ ...owner, state: 'done', reply, nonce: randomUUID() }))
          .lease(leaseId)).else(this.client.get(key)).commit(),
        CALL_MS,
      );
      const value = result.succeeded ? undefined : readBack(result.responses)?.value;
      if (value?.state === 'done' && value.reply) return this.replay(value);
    } catch (error) {
      this.logger.warn({ err: error, key }, 'HOST_LOST for a claimed uuid not recorded (etcd unreachable)');
    }
    return reply;
  }

  private replay(value: ClaimValue): Reply {
    const reply = value.reply!;
    if (value.payloadOmitted === undefined) return reply;
    return { ...reply, status: 'FAIL', payload: '', error: `REPLAY_INCOMPLETE: the first reply (${reply.status}, ${value.payloadOmitted} bytes of payload) was recorded without its payload; it was served by host ${value.host}` };
  }

  /**
   * One lease per minute for the uuid window: a key put under it lives 10 to 11 minutes from now. No deadline of its
   * own: its callers wait at most CALL_MS for it and what follows together.
   */
  private windowLease(): Promise<string> {
    const now = this.now();
    if (!this.lease || now - this.lease.at >= 60_000) {
      const lease = this.client.lease(WINDOW_S, { autoKeepAlive: false });
      this.lease = { lease, id: lease.grant(), at: now };
      this.lease.id.catch(() => {
        this.lease = undefined;
      });
    }
    return this.lease.id;
  }
}

/**
 * The nested transaction "if `compare` holds for `key`, put `value` under `leaseId`; else read the key", and the bytes
 * it adds to its batch's request (the key appears in the compare, the put and the read).
 */
function putElseGet(key: string, value: ClaimValue, leaseId: string, compare: Omit<ICompare, 'key' | 'result'>): { txn: ITxnRequest; bytes: number } {
  const [k, v] = [Buffer.from(key), Buffer.from(JSON.stringify(value))];
  const txn: ITxnRequest = {
    compare: [{ key: k, result: CompareResult.Equal, ...compare }],
    success: [{ request_put: { key: k, value: v, lease: leaseId } }],
    failure: [{ request_range: { key: k } }],
  };
  return { txn, bytes: 3 * k.length + v.length };
}

/** What a transaction whose compare failed read back (its first response): the key, and its value parsed. */
function readBack(responses: IResponseOp[]): { kv: IKeyValue; value: ClaimValue | undefined } | undefined {
  const kv = responses[0]?.response_range?.kvs[0];
  return kv ? { kv, value: parse(kv.value.toString()) } : undefined;
}

function parse(text: string): ClaimValue | undefined {
  try {
    return JSON.parse(text) as ClaimValue;
  } catch {
    return undefined;
  }
}
