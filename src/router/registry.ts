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
  /** Connections not CLOSED (READY or DRAINING): their commands are known. */
  private readonly live = new Set<WorkerConnection>();
  /** By command: how many live connections of each product (`type/product`) declare it. */
  private readonly liveProducts = new Map<string, Map<string, number>>();
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
    if (connection.state !== 'CLOSED') this.indexLive(connection);
    if (connection.state === 'READY') this.indexReady(connection);
    this.changed();
  }

  remove(connection: WorkerConnection): void {
    this.byId.delete(connection.id);
    connection.onTransition(undefined);
    this.unindexReady(connection);
    this.unindexLive(connection);
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

  /** Topics some READY connection subscribed to (live view: do not keep it). */
  subscribedTopics(): Iterable<string> {
    return this.readyByTopic.keys();
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
    return this.liveProducts.has(command);
  }

  /** The products (`type/product`) of the live connections that declare `command`. */
  productsServing(command: string): Iterable<string> {
    return this.liveProducts.get(command)?.keys() ?? [];
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
    if (connection.state === 'CLOSED') this.unindexLive(connection);
  }

  private indexLive(connection: WorkerConnection): void {
    if (this.live.has(connection)) return;
    this.live.add(connection);
    for (const command of connection.commands) {
      let products = this.liveProducts.get(command);
      if (!products) this.liveProducts.set(command, (products = new Map()));
      products.set(connection.product, (products.get(connection.product) ?? 0) + 1);
    }
  }

  // Idempotent (CLOSED, then removed): a connection is counted off only when it was still indexed.
  private unindexLive(connection: WorkerConnection): void {
    if (!this.live.delete(connection)) return;
    for (const command of connection.commands) {
      const products = this.liveProducts.get(command);
      const left = (products?.get(connection.product) ?? 1) - 1;
      if (left > 0) products?.set(connection.product, left);
      else products?.delete(connection.product);
      if (products?.size === 0) this.liveProducts.delete(command);
    }
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
