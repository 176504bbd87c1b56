// A worker's (or the admin's) Connect stream once its Hello is accepted: identity, state, in-flight commands.
import type { Logger } from '../common/log.js';
import type { Command, Drain, Event, RouterMessageIn } from '../proto/types.js';
import type { PendingCommand } from './pending.js';
import type { PayloadCheck } from './schemas.js';
import type { StreamWriter } from './writer.js';

/** READY takes commands and events; DRAINING finishes what it has; CLOSED is gone. */
export type ConnectionState = 'READY' | 'DRAINING' | 'CLOSED';

const TRANSITIONS: Record<ConnectionState, readonly ConnectionState[]> = {
  READY: ['DRAINING', 'CLOSED'],
  DRAINING: ['CLOSED'],
  CLOSED: [],
};

/** What goes out on a Connect stream (the proto-loader shape of RouterMessage, one field set). */
export type RouterMessageOut = Partial<Pick<RouterMessageIn, 'welcome'>> & { command?: Command; drain?: Drain; event?: Event };

export interface ConnectionIdentity {
  identifier: string;
  version: string;
  type: string;
  product: string;
  admin: boolean;
  commands: string[];
  topics: string[];
  commandChecks: Map<string, PayloadCheck>;
  eventChecks: Map<string, PayloadCheck>;
}

/** One accepted stream. */
export class WorkerConnection {
  state: ConnectionState = 'READY';
  readonly name: string;
  readonly major: string;
  readonly commands: ReadonlySet<string>;
  readonly topics: ReadonlySet<string>;
  readonly inFlight = new Map<string, PendingCommand>();
  /** Commands answered by this connection (WorkerInfo.served). */
  served = 0;
  /** Commands handed to it (ties of least-in-flight go to the less used). */
  dispatched = 0;

  constructor(
    readonly id: number,
    readonly identity: ConnectionIdentity,
    readonly writer: StreamWriter<RouterMessageOut>,
    readonly connectedAt: number,
    private readonly logger: Logger,
  ) {
    this.name = `${identity.identifier}@${identity.version}`;
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
    this.state = next;
    return true;
  }

  /** True when it can take a new command now: READY, serves it, and its reader keeps up. */
  canTake(command: string): boolean {
    return this.state === 'READY' && this.commands.has(command) && !this.writer.congested;
  }

  /** True when it declares `command` (whatever its state): the command is known. */
  serves(command: string): boolean {
    return this.state !== 'CLOSED' && this.commands.has(command);
  }
}
