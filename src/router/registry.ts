// The accepted connections, by id; lookups by identifier and version for drain and listing.
import type { WorkerInfo } from '../proto/types.js';
import type { WorkerConnection } from './connection.js';

export class ConnectionRegistry {
  private readonly byId = new Map<number, WorkerConnection>();
  private nextId = 1;

  /** A fresh connection id. */
  allocateId(): number {
    return this.nextId++;
  }

  add(connection: WorkerConnection): void {
    this.byId.set(connection.id, connection);
  }

  remove(connection: WorkerConnection): void {
    this.byId.delete(connection.id);
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
    for (const c of this.byId.values()) if (c.serves(command)) return true;
    return false;
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
}
