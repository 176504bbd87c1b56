// A worker's (or the admin's) Connect stream once its Hello is accepted: identity, state, in-flight commands.
import type { Logger } from '../common/log.js';
import type { Command, Drain, Event, RouterMessageIn } from '../proto/types.js';
import type { PendingCommand } from './pending.js';
import type { PayloadCheck } from './schemas.js';
import type { ConnectWriter } from './connect-writer.js';

/** How many uuids a connection remembers having been given. */
const GIVEN_MEMORY = 4096;

/** READY takes commands and events; DRAINING finishes what it has; CLOSED is gone. */
export type ConnectionState = 'READY' | 'DRAINING' | 'CLOSED';

const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
  READY: ['DRAINING', 'CLOSED'],
  DRAINING: ['CLOSED'],
  CLOSED: [],
};

/** What goes out on a Connect stream (the decoded shape of RouterMessage, src/proto/types.ts; one field set). */
export type RouterMessageOut = Partial<Pick<RouterMessageIn, 'welcome'>> & { command?: Command; commands?: { commands: Command[] }; drain?: Drain; event?: Event };

export interface ConnectionIdentity {
  identifier: string;
  version: string;
  type: string;
  product: string;
  admin: boolean;
  /** Hex sha256 of the one-time token its Hello used ('' for the admin): tells apart two streams of one IDENTIFIER@VERSION. */
  tokenSha256: string;
  commands: string[];
  topics: string[];
  commandChecks: Map<string, PayloadCheck>;
  eventChecks: Map<string, PayloadCheck>;
}

/** One accepted stream. */
export class WorkerConnection {
  state: ConnectionState = 'READY';
  readonly name: string;
  /** `type/product`: what a command's `product` pin matches. */
  readonly product: string;
  readonly major: string;
  readonly commands: ReadonlySet<string>;
  readonly topics: ReadonlySet<string>;
  readonly inFlight = new Map<string, PendingCommand>();
  /** Commands answered by this connection (WorkerInfo.served). */
  served = 0;
  /** Commands handed to it (last tie-break of least-in-flight: the less used). */
  dispatched = 0;
  /** When it last answered, as a sequence number (0: never; ties of least-in-flight go to the latest: a warm worker). */
  usedAt = 0;
  /** Uuids recently given to it: a late reply to one of them is not misbehaviour. */
  private readonly given = new Set<string>();
  /** The same uuids in the order given, a ring once full: the oldest is forgotten without an iterator per command. */
  private readonly givenOrder: string[] = [];
  private givenAt = 0;
  /** Told of every accepted transition (the registry keeps its indexes of READY connections with it). */
  private stateListener: ((connection: WorkerConnection, from: ConnectionState) => void) | undefined;

  constructor(
    readonly id: number,
    readonly identity: ConnectionIdentity,
    readonly writer: ConnectWriter,
    readonly connectedAt: number,
    private readonly logger: Logger,
    /** Commands it may have in flight at once (limits.workerConcurrency). */
    readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {
    this.name = `${identity.identifier}@${identity.version}`;
    this.product = `${identity.type}/${identity.product}`;
    this.major = identity.version.split('.')[0] ?? '';
    this.commands = new Set(identity.commands);
    this.topics = new Set(identity.topics);
  }

  /** Moves to `next`; an illegal move is refused (false) and logged. */
  transition(next: ConnectionState, reason: string): boolean {
    if (this.state === next) return false;
    if (!TRANSITIONS[this.state].includes(next)) {
      this.logger.warn({ worker: this.name, from: this.state, to: next, reason }, 'illegal connection transition refused');
      return false;
    }
    this.logger.info({ worker: this.name, from: this.state, to: next, reason }, 'connection state');
    const from = this.state;
    this.state = next;
    this.stateListener?.(this, from);
    return true;
  }

  /** Sets the one listener told of its transitions (the registry that indexes it). */
  onTransition(listener: ((connection: WorkerConnection, from: ConnectionState) => void) | undefined): void {
    this.stateListener = listener;
  }

  /** True when it can take a new command now: READY, serves it, below its concurrency limit, and its reader keeps up. */
  canTake(command: string): boolean {
    return this.state === 'READY' && this.commands.has(command) && this.inFlight.size < this.maxInFlight && !this.writer.congested;
  }

  /** Records a uuid handed to it (the last GIVEN_MEMORY are kept). */
  remember(uuid: string): void {
    if (this.given.has(uuid)) return;
    this.given.add(uuid);
    if (this.givenOrder.length < GIVEN_MEMORY) {
      this.givenOrder.push(uuid); // grows with use: an idle connection holds nothing
      return;
    }
    this.given.delete(this.givenOrder[this.givenAt] as string);
    this.givenOrder[this.givenAt] = uuid;
    this.givenAt = (this.givenAt + 1) % GIVEN_MEMORY;
  }

  /** True when `uuid` was handed to it recently (its reply may come after a TIMEOUT). */
  wasGiven(uuid: string): boolean {
    return this.given.has(uuid);
  }

  /** True when it declares `command` (whatever its state): the command is known. */
  serves(command: string): boolean {
    return this.state !== 'CLOSED' && this.commands.has(command);
  }
}
