// Commands this router sends to other hosts: picking the instance, tracking where each is in flight, one answer each.
import { randomBytes } from 'node:crypto';
import { isWorkerAdminError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Reply } from '../../proto/types.js';
import type { RemoteRoute } from '../../router/fleet-link.js';
import type { RouterFleetPort } from '../../router/fleet-port.js';
import { routerReply, type PendingCommand } from '../../router/pending.js';
import type { HostDirectory } from '../registry/directory.js';
import type { HostRecord, ServedInstance } from '../registry/host-record.js';
import type { Answer } from '../transport/envelope.js';
import type { NatsTransport } from '../transport/nats-transport.js';
import { proveAdmin } from '../transport/proof.js';

/** A host that bounced a command (or had no responders) is skipped this long. */
const SKIP_MS = 1000;

interface InFlight {
  id: string;
  pending: PendingCommand;
  host: string;
  incarnation: string;
  /** identifier@version on the remote host ('' for its admin). */
  instance: string;
}

interface OutboundCounters {
  sent: number;
  answered: number;
  bounced: number;
  hostLost: number;
  transportLost: number;
  late: number;
}

/** The router's RemoteRoute: other hosts' READY instances as candidates, fewest in flight from here first. */
export class Outbound implements RemoteRoute {
  readonly counters: OutboundCounters = { sent: 0, answered: 0, bounced: 0, hostLost: 0, transportLost: 0, late: 0 };
  private readonly byId = new Map<string, InFlight>();
  private readonly byPending = new Map<PendingCommand, InFlight>();
  /** In flight from here per remote instance key `host/identifier@version` (dispatch's "fewest in flight"). */
  private readonly load = new Map<string, number>();
  private readonly skipUntil = new Map<string, number>();
  private readonly skipTimers = new Map<string, NodeJS.Timeout>();
  private port: RouterFleetPort | undefined;
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private idSeq = 0;

  constructor(
    private readonly directory: HostDirectory,
    private readonly transport: NatsTransport,
    private readonly adminToken: string,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The router's side, once attached. */
  bind(port: RouterFleetPort): void {
    this.port = port;
  }

  get inFlight(): number {
    return this.byId.size;
  }

  productsDeclaring(command: string): ReadonlySet<string> {
    return this.directory.productsDeclaring(command);
  }

  send(pending: PendingCommand): boolean {
    if (!this.transport.linkUp) return false;
    const choice = this.pick(pending);
    if (!choice) return false;
    return this.dispatch(pending, choice.record, choice.instance, undefined);
  }

  sendToAdmin(pending: PendingCommand, host: string): boolean {
    const known = this.directory.live(host);
    if (!known || !this.transport.linkUp) return false;
    return this.dispatch(pending, known.record, undefined, this.adminToken);
  }

  settled(pending: PendingCommand): void {
    const entry = this.byPending.get(pending);
    if (entry) this.forget(entry);
  }

  /** The answer to one of our commands (undefined: no responders). */
  answered(id: string, answer: Answer | undefined): void {
    const entry = this.byId.get(id);
    if (!entry) {
      this.counters.late += 1;
      this.logger.info({ id, kind: answer?.kind ?? 'no responders' }, 'fleet answer for a command already answered: dropped');
      return;
    }
    if (answer === undefined || answer.kind === 'bounce') {
      this.counters.bounced += 1;
      this.skip(entry.host);
      this.forget(entry);
      this.logger.debug({ host: entry.host, uuid: entry.pending.uuid, reason: answer?.reason ?? 'no responders' }, 'fleet command not taken: dispatched again');
      this.port?.requeue(entry.pending);
      return;
    }
    this.counters.answered += 1;
    this.port?.settleRemote(entry.pending, answer.reply);
  }

  /** Skips `host` for SKIP_MS; when that ends, what waits in the queue is served again (it may be the only candidate). */
  private skip(host: string): void {
    this.skipUntil.set(host, this.now() + SKIP_MS);
    if (!this.skipTimers.has(host)) this.pumpAfterSkip(host);
  }

  private pumpAfterSkip(host: string): void {
    const timer = setTimeout(() => {
      this.skipTimers.delete(host);
      // skipped again meanwhile: wait for the new end
      if ((this.skipUntil.get(host) ?? 0) > this.now()) this.pumpAfterSkip(host);
      else this.port?.pump();
    }, Math.max(10, (this.skipUntil.get(host) ?? 0) - this.now() + 10));
    timer.unref();
    this.skipTimers.set(host, timer);
  }

  /** Every command in flight on `host`'s `incarnation`: FAIL HOST_LOST, at once. */
  hostLost(host: string, incarnation: string, reason: string): void {
    for (const entry of [...this.byId.values()]) {
      if (entry.host !== host || entry.incarnation !== incarnation) continue;
      this.counters.hostLost += 1;
      this.port?.settleRemote(entry.pending, this.lostReply(entry, 'HOST_LOST', `host ${host} (incarnation ${incarnation}) was lost with the command in flight: ${reason}`));
    }
  }

  /** This host's NATS link dropped: every command it has in flight elsewhere gets TRANSPORT_LOST (may have run). */
  transportLost(): void {
    for (const entry of [...this.byId.values()]) {
      this.counters.transportLost += 1;
      this.port?.settleRemote(entry.pending, this.lostReply(entry, 'TRANSPORT_LOST', `the connection to NATS dropped while host ${entry.host} had the command`));
    }
  }

  private lostReply(entry: InFlight, code: 'HOST_LOST' | 'TRANSPORT_LOST', text: string): Reply {
    return routerReply(entry.pending.uuid, 'FAIL', `${code}: ${text}`, entry.instance);
  }

  private pick(pending: PendingCommand): { record: HostRecord; instance: ServedInstance } | undefined {
    const c = pending.command as PendingCommand['command'] & { product?: string };
    const product = c.product ?? '';
    const now = this.now();
    let best: { record: HostRecord; instance: ServedInstance } | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const candidate of this.directory.candidates()) {
      const { record, instance } = candidate;
      if (!instance.commands.includes(c.command)) continue;
      if (c.target !== '' && instance.identifier !== c.target) continue;
      if (c.major !== '' && instance.major !== c.major) continue;
      if (product !== '' && instance.product !== product) continue;
      if ((this.skipUntil.get(record.name) ?? 0) > now) continue;
      const load = this.load.get(loadKey(record.name, instance)) ?? 0;
      if (load < bestLoad) {
        best = candidate;
        bestLoad = load;
      }
    }
    return best;
  }

  private dispatch(pending: PendingCommand, record: HostRecord, instance: ServedInstance | undefined, adminToken: string | undefined): boolean {
    // unique across senders (the random part) at the price of a counter: a receiver keys replay checks on it
    const id = `${this.idPrefix}${(this.idSeq += 1).toString(36)}`;
    const ttlMs = Math.max(1, pending.deadlineAt - this.now());
    const { payload, ...command } = pending.command;
    const target = instance ? instance.identifier : '';
    const envelope = { id, ttlMs, command: { ...command, target } };
    const to = { host: record.name, incarnation: record.incarnation, batching: record.batching === true };
    const proof = adminToken === undefined ? undefined : proveAdmin(adminToken, { ...envelope, to }, payload);
    const label = instance ? `${instance.identifier}@${instance.version}` : `admin@${record.name}`;
    const entry: InFlight = { id, pending, host: record.name, incarnation: record.incarnation, instance: label };
    this.byId.set(id, entry);
    this.byPending.set(pending, entry);
    if (instance) this.load.set(loadKey(record.name, instance), (this.load.get(loadKey(record.name, instance)) ?? 0) + 1);
    pending.connectionName = `${label} on ${record.name}`;
    try {
      this.transport.sendCommand(to, proof === undefined ? envelope : { ...envelope, proof }, payload);
    } catch (error) {
      if (!isWorkerAdminError(error, 'PAYLOAD_TOO_LARGE')) {
        this.forget(entry);
        this.logger.warn({ err: error, host: record.name }, 'fleet send failed');
        return false;
      }
      this.port?.settleRemote(pending, routerReply(pending.uuid, 'FAIL', `PAYLOAD_TOO_LARGE: ${error.message}`));
      return true;
    }
    this.counters.sent += 1;
    return true;
  }

  private forget(entry: InFlight): void {
    this.byId.delete(entry.id);
    this.byPending.delete(entry.pending);
    const key = `${entry.host}/${entry.instance}`;
    const n = (this.load.get(key) ?? 0) - 1;
    if (n > 0) this.load.set(key, n);
    else this.load.delete(key);
  }
}

const loadKey = (host: string, instance: ServedInstance): string => `${host}/${instance.identifier}@${instance.version}`;
