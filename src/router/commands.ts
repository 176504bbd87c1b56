// The life of a command: checks, replay, dispatch or queue, deadline, exactly one Reply.
import { randomUUID } from 'node:crypto';
import { coded } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { COMMAND_RE, quoteName, TYPE_PRODUCT_RE } from '../common/names.js';
import type { Command, Reply, Status } from '../proto/types.js';
import type { WorkerConnection } from './connection.js';
import { pickConnection } from './dispatch.js';
import type { EventsHub } from './events-hub.js';
import type { FleetLink } from './fleet-link.js';
import type { RouterObserver } from './options.js';
import { PendingCommand, routerReply } from './pending.js';
import type { ProductScope } from './products.js';
import type { CommandQueue } from './queue.js';
import type { ConnectionRegistry } from './registry.js';
import { commandFingerprint, type UuidCache } from './uuid-cache.js';
import { depthProblem } from './json-depth.js';

/** Why a worker's reply payload cannot go to a client (not JSON, too deep), or undefined. */
function replyPayloadProblem(text: string, depthLimit: number): string | undefined {
  if (text.trim() === '') return undefined;
  const deep = depthProblem(text, depthLimit, 'reply payload');
  if (deep) return deep;
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    return `reply payload is not JSON: ${(error as Error).message}`;
  }
}

/** Why a `product` pin is not `type/product`, or undefined. */
function productPinProblem(product: string): string | undefined {
  const parts = product.split('/');
  if (parts.length === 2 && parts.every((p) => TYPE_PRODUCT_RE.test(p))) return undefined;
  return `product ${quoteName(product)} is invalid: it must be "type/product", e.g. "utils/echo"`;
}

export const ADMIN_PREFIX = 'ADMIN_';
const ADMIN_TARGET = /^admin@(.+)$/;

/**
 * The command with another `timeout_ms`, field by field as in `accept` (one object shape): a literal, not
 * `{ ...command, timeout_ms }`, whose spread with an override took a quarter of the router's own time per command.
 */
function withTimeout(c: Command, timeoutMs: number): Command {
  return { uuid: c.uuid, command: c.command, payload: c.payload, timeout_ms: timeoutMs, target: c.target, major: c.major, context: c.context, product: c.product };
}

interface CommandRouterDeps {
  registry: ConnectionRegistry;
  queue: CommandQueue;
  uuids: UuidCache;
  products: ProductScope;
  hub: EventsHub;
  observer: RouterObserver;
  logger: Logger;
  commandMs: number;
  adminCommandMs: number;
  /** limits.payloadDepth */
  payloadDepth: number;
  now?: () => number;
}

/** What taking a command gives: its pending record, a Reply now (a refusal), or a Reply to come (a replay, a claim). */
type Outcome = PendingCommand | Reply | Promise<Reply>;

/** Its uuid was made by a client library only to match the Reply: it is never sent again (docs/protocol.md). */
function sentOnce(command: Command): boolean {
  return command.generated_uuid === true && command.uuid !== '';
}

function promised(outcome: Outcome): Promise<Reply> {
  if (outcome instanceof PendingCommand) return outcome.reply;
  return outcome instanceof Promise ? outcome : Promise.resolve(outcome);
}

/** What a worker's Reply was: answered, late (a command it had that the router already answered), foreign, or malformed. */
type ReplyVerdict = 'answered' | 'late' | 'foreign' | 'malformed';

/** Routes commands; every path ends in `settle`, which gives the one Reply. */
export class CommandRouter {
  private readonly now: () => number;
  private closing = false;
  /** Sequence of replies: a connection's `usedAt` (ties of least-in-flight go to the one that answered last). */
  private uses = 0;
  /** Other hosts, when this router is part of a fleet (docs/fleet.md). */
  private fleet: FleetLink | undefined;

  constructor(private readonly deps: CommandRouterDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Joins a fleet: other hosts' instances become candidates, client uuids are claimed fleet-wide. */
  attachFleet(link: FleetLink): void {
    this.fleet = link;
    this.deps.products.useRemote(link.remote);
  }

  /**
   * A command another host sent here: served by a local worker, or undefined ("bounce") when none can take it now —
   * it never waits here, never goes to a third host, and its uuid was claimed by the sender. `batched`: it came in
   * one message with others, so it may reach its worker in a batch too; alone, it leaves at once.
   */
  takeFromFleet(input: Command, batched: boolean): Promise<Reply> | undefined {
    if (this.closing) return undefined;
    if (!pickConnection(this.local(input.command), input, true)) return undefined;
    return promised(this.accept(input, true, batched));
  }

  /**
   * Takes a command from a client (roles are checked by the caller) and resolves with its Reply; `batched`: it came
   * in a batch with others (SendCommands), so it may reach its worker in a batch too.
   */
  submit(input: Command, batched = false): Promise<Reply> {
    return promised(this.take(input, batched));
  }

  /** Like `submit`, the Reply given to `done` (no promise made per command on the common path); `failed`: a router error. */
  submitTo(input: Command, batched: boolean, done: (reply: Reply) => void, failed: (error: unknown) => void): void {
    const outcome = this.take(input, batched);
    if (outcome instanceof PendingCommand) outcome.onReply(done);
    else if (outcome instanceof Promise) outcome.then(done, failed);
    else done(outcome);
  }

  private take(input: Command, batched: boolean): Outcome {
    const fleet = this.fleet;
    // a uuid the client library made only to match the Reply is never sent again: like one the router makes, no claim
    if (fleet === undefined || input.uuid === '' || sentOnce(input)) return this.accept(input, false, batched);
    const payloadText = input.payload.trim() === '' ? '{}' : input.payload;
    const isAdmin = input.command.startsWith(ADMIN_PREFIX);
    const timeoutMs = input.timeout_ms > 0 ? input.timeout_ms : isAdmin ? this.deps.adminCommandMs : this.deps.commandMs;
    const fingerprint = commandFingerprint(input.command, payloadText);
    // this router already has it (pending or answered): its own replay cache answers, no claim needed
    if (this.deps.uuids.lookup(input.uuid, fingerprint).kind !== 'new') return this.accept(input, false, batched);
    return fleet.claims.guard(input.uuid, fingerprint, timeoutMs, () => promised(this.accept(input, false, batched)));
  }

  /** Checks, replay, then dispatch or queue: the command's pending record, or its Reply at once (or a replayed one's). */
  private accept(input: Command, localOnly: boolean, batched: boolean): Outcome {
    const uuid = input.uuid || randomUUID();
    const refuse = (error: string): Reply => routerReply(uuid, 'INVALID', error);
    if (!COMMAND_RE.test(input.command)) {
      return refuse(coded('NAME_INVALID', `command ${quoteName(input.command)} is invalid: it must match ${COMMAND_RE.source}`));
    }
    const product = input.product ?? '';
    const badPin = product === '' ? undefined : productPinProblem(product);
    if (badPin) return refuse(coded('NAME_INVALID', badPin));
    const payloadText = input.payload.trim() === '' ? '{}' : input.payload;
    const tooDeep = depthProblem(payloadText, this.deps.payloadDepth, `payload of ${input.command}`);
    if (tooDeep) return refuse(coded('LIMIT_EXCEEDED', tooDeep));
    let payload: unknown;
    try {
      payload = JSON.parse(payloadText);
    } catch (error) {
      return refuse(coded('PAYLOAD_INVALID', `payload of ${input.command} is not JSON: ${(error as Error).message}`));
    }
    // a uuid the client library made only to match the Reply is never sent again: nothing to replay, no fingerprint
    const once = sentOnce(input);
    const fingerprint = once ? '' : commandFingerprint(input.command, payloadText);
    const seen = this.deps.uuids.lookup(uuid, fingerprint, once);
    if (seen.kind === 'replay') return seen.reply;
    if (seen.kind === 'conflict') {
      const why = once ? 'is marked generated_uuid but a command with it is still pending' : 'was already used with another command or payload';
      return refuse(coded('UUID_CONFLICT', `uuid ${uuid} ${why}`));
    }
    // Not recorded for replay, like the refusals above: the same uuid sent again with a pin must run.
    const serving = product === '' && input.target === '' ? this.deps.products.ambiguity(input.command) : undefined;
    if (serving) return refuse(coded('AMBIGUOUS_COMMAND', `${input.command} is served by ${serving.join(', ')}; pin a product`));
    const isAdmin = input.command.startsWith(ADMIN_PREFIX);
    const timeoutMs = input.timeout_ms > 0 ? input.timeout_ms : isAdmin ? this.deps.adminCommandMs : this.deps.commandMs;
    const receivedAt = this.now();
    // generated_uuid stays here: workers and other hosts get the command without it
    const command: Command = { uuid, command: input.command, payload: payloadText, timeout_ms: timeoutMs, target: input.target, major: input.major, context: input.context ?? {}, product };
    const pending = new PendingCommand(command, payload, receivedAt, receivedAt + timeoutMs);
    pending.localOnly = localOnly;
    pending.batched = batched;
    this.deps.uuids.begin(uuid, fingerprint, pending, !once);
    pending.timer = setTimeout(() => this.onDeadline(pending), timeoutMs);

    const adminHost = command.target.startsWith('admin@') ? ADMIN_TARGET.exec(command.target)?.[1] : undefined;
    const refusal = this.refusal(command);
    if (refusal) this.settle(pending, routerReply(uuid, refusal.status, refusal.error));
    else if (adminHost !== undefined) this.routeToAdmin(pending, adminHost);
    else this.route(pending);
    return pending;
  }

  /** Why an accepted command cannot be routed at all (shutting down, unknown), or undefined. */
  private refusal({ command, product, target }: Command): { status: Status; error: string } | undefined {
    if (this.closing) return { status: 'FAIL', error: coded('ROUTER_SHUTDOWN', 'the router is shutting down') };
    if (target.startsWith('admin@')) return undefined;
    if (this.deps.products.knows(command, product)) return undefined;
    const whose = product === '' ? '' : ` of ${product}`;
    return { status: 'NO_WORKER', error: coded('UNKNOWN_COMMAND', `no worker${whose} serves ${command}: none connected, expected or declared by a stored pivot`) };
  }

  /** A Reply from a connection, for a command it was given; the verdict tells the stream whether it misbehaved. */
  complete(connection: WorkerConnection, reply: Partial<Reply>): ReplyVerdict {
    const uuid = reply.uuid ?? '';
    const pending = connection.inFlight.get(uuid);
    if (!pending) {
      const late = uuid !== '' && connection.wasGiven(uuid);
      this.deps.logger.warn({ worker: connection.name, uuid }, late ? 'late reply for a command already answered: dropped' : 'reply for a uuid this connection was not given: dropped');
      return late ? 'late' : 'foreign';
    }
    connection.served += 1;
    this.deps.registry.used(connection, ++this.uses);
    // Workers answer SUCCESS or FAIL; the admin may also say INVALID (a payload outside its own pivot).
    const given = reply.status;
    let status: Status = given === 'SUCCESS' || given === 'FAIL' || (connection.identity.admin && given === 'INVALID') ? given : 'FAIL';
    // A worker's own SUCCESS or FAIL keeps its error text as written; a status it may not give becomes the router's FAIL.
    let error = status === reply.status ? (reply.error ?? '') : coded('REPLY_INVALID', `worker replied with status ${String(reply.status)}${reply.error ? `: ${reply.error}` : ''}`);
    let payload = reply.payload ?? '';
    const problem = replyPayloadProblem(payload, this.deps.payloadDepth);
    if (problem) {
      // A client must be able to parse what it gets: a bad payload becomes a FAIL naming the worker's fault.
      [status, error, payload] = ['FAIL', coded('REPLY_INVALID', `worker replied with a bad payload: ${problem}`), ''];
    }
    this.settle(pending, { uuid, status, payload, error, worker: connection.name });
    return problem ? 'malformed' : 'answered';
  }

  /** Every command in flight on a connection whose stream ended: FAIL WORKER_LOST, at once. */
  connectionLost(connection: WorkerConnection, reason: string): void {
    for (const pending of [...connection.inFlight.values()]) {
      this.settle(pending, routerReply(pending.uuid, 'FAIL', coded('WORKER_LOST', `${connection.name} went away with the command in flight (${reason})`), connection.name));
    }
  }

  /** Serves queued commands, oldest first, with whatever connections can take them now. */
  pump(): void {
    const { queue } = this.deps;
    if (queue.size === 0) return;
    for (const pending of queue.snapshot()) {
      const connection = pickConnection(this.local(pending.command.command), pending.command, true);
      if (connection) {
        queue.remove(pending);
        pending.batched = true; // the queue empties in a burst: one batch per worker
        this.dispatch(connection, pending);
      } else if (this.sendRemote(pending)) {
        queue.remove(pending);
      }
    }
    this.deps.observer.queueSize?.(queue.size);
  }

  /** Shutdown, step 1: refuse new commands, answer queued ones FAIL ROUTER_SHUTDOWN. */
  stopTaking(): void {
    this.closing = true;
    for (const pending of this.deps.queue.snapshot()) {
      this.settle(pending, routerReply(pending.uuid, 'FAIL', coded('ROUTER_SHUTDOWN', 'the router is shutting down')));
    }
  }

  /** Shutdown, step 2: answer what is still in flight FAIL ROUTER_SHUTDOWN. */
  failInFlight(): void {
    for (const connection of this.deps.registry.all()) {
      for (const pending of [...connection.inFlight.values()]) {
        this.settle(pending, routerReply(pending.uuid, 'FAIL', coded('ROUTER_SHUTDOWN', 'the router stopped before the worker replied'), connection.name));
      }
    }
  }

  /** An answer from the host a REMOTE command went to (or HOST_LOST / TRANSPORT_LOST made for it by the fleet). */
  settleRemote(pending: PendingCommand, reply: Reply): void {
    if (pending.state === 'REMOTE') this.settle(pending, reply);
  }

  /** The host a REMOTE command went to never ran it (bounce, no responders): dispatch it again. */
  requeue(pending: PendingCommand): void {
    if (pending.state !== 'REMOTE') return;
    pending.state = 'NEW';
    pending.connectionName = '';
    this.route(pending);
  }

  /** target admin@HOST: this host's admin takes it here; another host's gets it over the fleet. */
  private routeToAdmin(pending: PendingCommand, host: string): void {
    const fleet = this.fleet;
    if (fleet === undefined || host === fleet.host) {
      pending.command.target = '';
      this.route(pending);
      return;
    }
    if (!pending.command.command.startsWith(ADMIN_PREFIX)) {
      this.settle(pending, routerReply(pending.uuid, 'INVALID', coded('NAME_INVALID', `target admin@${host} takes ADMIN_* commands only, not ${pending.command.command}`)));
      return;
    }
    pending.state = 'REMOTE';
    if (fleet.remote.sendToAdmin(pending, host)) return;
    pending.state = 'NEW';
    this.settle(pending, routerReply(pending.uuid, 'FAIL', coded('HOST_LOST', `host ${host} is not a live host of this fleet`)));
  }

  /** Sends a command to another host when this router is in a fleet and one can take it (then it is REMOTE). */
  private sendRemote(pending: PendingCommand): boolean {
    if (pending.localOnly || this.fleet === undefined) return false;
    const before = pending.state;
    pending.state = 'REMOTE'; // before the send: an answer (or a refusal) may settle it at once
    if (this.fleet.remote.send(pending)) return true;
    if (pending.state === 'REMOTE') pending.state = before;
    return false;
  }

  /** Local READY connections serving `command`, less those the fleet withholds now (a FENCED host's fleet-managed ones). */
  private local(command: string): Iterable<WorkerConnection> {
    const ready = this.deps.registry.ready(command);
    const withheld = this.fleet?.withheld;
    if (withheld === undefined) return ready;
    return notWithheld(ready, withheld);
  }

  private route(pending: PendingCommand): void {
    const connection = pickConnection(this.local(pending.command.command), pending.command, true);
    if (connection) {
      this.dispatch(connection, pending);
      return;
    }
    if (this.sendRemote(pending)) return;
    const { queue } = this.deps;
    if (!queue.push(pending)) {
      this.settle(pending, routerReply(pending.uuid, 'FAIL', coded('QUEUE_FULL', `${queue.size} commands already wait for a worker (limit ${queue.limit})`)));
      this.deps.hub.routerEvent('QUEUE_FULL', { command: pending.command.command, uuid: pending.uuid, queueSize: queue.size, limit: queue.limit });
      return;
    }
    pending.state = 'QUEUED';
    this.deps.observer.queueSize?.(queue.size);
  }

  private dispatch(connection: WorkerConnection, pending: PendingCommand): void {
    const check = connection.identity.commandChecks.get(pending.command.command);
    const problem = check?.(pending.payload);
    if (problem !== undefined) {
      this.settle(pending, routerReply(pending.uuid, 'INVALID', coded('PAYLOAD_INVALID', `payload of ${pending.command.command} does not match the schema of ${connection.name}: ${problem}`)));
      return;
    }
    pending.state = 'IN_FLIGHT';
    pending.connectionId = connection.id;
    pending.connectionName = connection.name;
    connection.inFlight.set(pending.uuid, pending);
    connection.remember(pending.uuid);
    connection.dispatched += 1;
    const remaining = Math.max(1, pending.deadlineAt - this.now());
    connection.writer.sendCommand(withTimeout(pending.command, remaining), pending.batched);
  }

  private onDeadline(pending: PendingCommand): void {
    pending.timer = undefined;
    if (pending.state === 'IN_FLIGHT' || pending.state === 'REMOTE') {
      this.settle(pending, routerReply(pending.uuid, 'TIMEOUT', coded('TIMEOUT', `no reply from ${pending.connectionName} within ${pending.command.timeout_ms} ms`), pending.connectionName));
    } else {
      this.settle(pending, routerReply(pending.uuid, 'NO_WORKER', coded('NO_WORKER', `no READY worker took ${pending.command.command} within ${pending.command.timeout_ms} ms`)));
    }
  }

  /** The one place a Reply is given: leaves queue or in-flight map, records the replay, tells the observer. */
  private settle(pending: PendingCommand, reply: Reply): void {
    const wasQueued = pending.state === 'QUEUED';
    const wasRemote = pending.state === 'REMOTE';
    const connection = this.deps.registry.get(pending.connectionId);
    if (!pending.settle(reply)) return;
    if (wasRemote) this.fleet?.remote.settled(pending);
    if (wasQueued && this.deps.queue.remove(pending)) this.deps.observer.queueSize?.(this.deps.queue.size);
    if (connection && connection.inFlight.get(pending.uuid) === pending) {
      const wasFull = connection.inFlight.size >= connection.maxInFlight;
      connection.inFlight.delete(pending.uuid);
      // A connection back under its concurrency limit may serve what waits in the queue.
      if (wasFull && this.deps.queue.size > 0) queueMicrotask(() => this.pump());
    }
    this.deps.uuids.finish(pending.uuid, reply);
    this.deps.observer.commandCompleted?.(pending.command.command, reply.status, this.now() - pending.receivedAt);
    pending.deliver();
  }
}

/** The connections of `ready` the fleet does not withhold, as dispatch walks them (no copy of the list). */
function* notWithheld(ready: Iterable<WorkerConnection>, withheld: (identifier: string) => boolean): Iterable<WorkerConnection> {
  for (const connection of ready) if (!withheld(connection.identity.identifier)) yield connection;
}
