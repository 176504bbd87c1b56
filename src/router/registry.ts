// The accepted connections, by id; READY ones indexed by command and topic (dispatch and event delivery look only there).
import type { WorkerInfo } from '../proto/types.js';
import type { ConnectionState, WorkerConnection } from './connection.js';
import { MruList } from './mru-list.js';

const NONE: ReadonlySet<WorkerConnection> = new Set();
const newSet = (): Set<WorkerConnection> => new Set();
const newMruList = (): MruList<WorkerConnection> => new MruList();

export class ConnectionRegistry {
  private readonly byId = new Map<number, WorkerConnection>();
  /** READY connections by command they serve, the one that answered last first. */
  private readonly readyByCommand = new Map<string, MruList<WorkerConnection>>();
  /** READY connections by topic of their Hello. */
  private readonly readyByTopic = new Map<string, Set<WorkerConnection>>();
  /** Connections not CLOSED (READY or DRAINING) by command they declare: the command is known. */
  private readonly liveByCommand = new Map<string, Set<WorkerConnection>>();
  private nextId = 1;
  /** Told after a connection is added, removed or changes state (the fleet's host record follows it). */
  private readonly changeListeners: Array<() => void> = [];
  /** The connection `used` moved to the front last. */
  private lastUsed: WorkerConnection | undefined;

  /** A fresh connection id. */
  allocateId(): number {
    return this.nextId++;
  }

  add(connection: WorkerConnection): void {
    this.byId.set(connection.id, connection);
    connection.onTransition((c, from) => {
      this.reindex(c, from);
      this.changed();
    });
    if (connection.state !== 'CLOSED') index(this.liveByCommand, connection, connection.commands, newSet);
    if (connection.state === 'READY') this.indexReady(connection);
    this.changed();
  }

  remove(connection: WorkerConnection): void {
    this.byId.delete(connection.id);
    connection.onTransition(undefined);
    this.unindexReady(connection);
    unindex(this.liveByCommand, connection, connection.commands);
    this.changed();
  }

  /** Calls `listener` after every change of the set of connections or of a connection's state. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** READY connections serving `command`, the one that answered last first (live view: do not keep it). */
  ready(command: string): Iterable<WorkerConnection> {
    return this.readyByCommand.get(command) ?? NONE;
  }

  /** `connection` just answered: it moves to the front of its commands' lists (see `usedAt`). */
  used(connection: WorkerConnection, usedAt: number): void {
    connection.usedAt = usedAt;
    // The last one moved is still at the front of all its lists (adds go to the back): nothing to move.
    if (connection.state !== 'READY' || this.lastUsed === connection) return;
    this.lastUsed = connection;
    for (const command of connection.commands) this.readyByCommand.get(command)?.touch(connection);
  }

  /** READY connections whose Hello lists `topic` (live view: do not keep it). */
  subscribers(topic: string): ReadonlySet<WorkerConnection> {
    return this.readyByTopic.get(topic) ?? NONE;
  }

  get(id: number | undefined): WorkerConnection | undefined {
    return id === undefined ? undefined : this.byId.get(id);
  }

  all(): IterableIterator<WorkerConnection> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  /** Connections of `identifier`, of every version when `version` is empty. */
  find(identifier: string, version: string): WorkerConnection[] {
    return [...this.byId.values()].filter((c) => c.identity.identifier === identifier && (version === '' || c.identity.version === version));
  }

  /** True when a live connection declares `command`. */
  declares(command: string): boolean {
    return (this.liveByCommand.get(command)?.size ?? 0) > 0;
  }

  /** Commands in flight over every connection. */
  inFlightCount(): number {
    let n = 0;
    for (const c of this.byId.values()) n += c.inFlight.size;
    return n;
  }

  /** ListWorkers rows. */
  infos(): WorkerInfo[] {
    return [...this.byId.values()].map((c) => ({
      identifier: c.identity.identifier,
      version: c.identity.version,
      type: c.identity.type,
      product: c.identity.product,
      state: c.state,
      commands: [...c.commands],
      in_flight: c.inFlight.size,
      connected_at_ms: c.connectedAt,
      topics: [...c.topics],
      admin: c.identity.admin,
      served: c.served,
    }));
  }

  // Leaving READY takes it out of dispatch and event delivery; CLOSED also out of the known commands.
  private reindex(connection: WorkerConnection, from: ConnectionState): void {
    if (from === 'READY' && connection.state !== 'READY') this.unindexReady(connection);
    if (connection.state === 'CLOSED') unindex(this.liveByCommand, connection, connection.commands);
  }

  private indexReady(connection: WorkerConnection): void {
    index(this.readyByCommand, connection, connection.commands, newMruList);
    index(this.readyByTopic, connection, connection.topics, newSet);
  }

  private unindexReady(connection: WorkerConnection): void {
    if (this.lastUsed === connection) this.lastUsed = undefined;
    unindex(this.readyByCommand, connection, connection.commands);
    unindex(this.readyByTopic, connection, connection.topics);
  }
}

interface IndexSet<T> {
  readonly size: number;
  add(item: T): void;
  delete(item: T): boolean;
}

function index<S extends IndexSet<WorkerConnection>>(map: Map<string, S>, connection: WorkerConnection, keys: Iterable<string>, make: () => S): void {
  for (const key of keys) {
    let set = map.get(key);
    if (!set) map.set(key, (set = make()));
    set.add(connection);
  }
}

function unindex(map: Map<string, IndexSet<WorkerConnection>>, connection: WorkerConnection, keys: Iterable<string>): void {
  for (const key of keys) {
    const set = map.get(key);
    if (set?.delete(connection) && set.size === 0) map.delete(key);
  }
}
