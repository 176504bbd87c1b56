// Commands waiting for a READY worker: bounded, in arrival order, removable from anywhere (deadline).
import type { PendingCommand } from './pending.js';

export class CommandQueue {
  private readonly entries = new Map<string, PendingCommand>();

  constructor(readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get full(): boolean {
    return this.entries.size >= this.limit;
  }

  /** Appends; false when the queue is full. */
  push(pending: PendingCommand): boolean {
    if (this.full) return false;
    this.entries.set(pending.uuid, pending);
    return true;
  }

  /** Removes a command wherever it is; false when it was not queued. */
  remove(pending: PendingCommand): boolean {
    return this.entries.get(pending.uuid) === pending && this.entries.delete(pending.uuid);
  }

  /** A snapshot, oldest first (safe to remove while iterating). */
  snapshot(): PendingCommand[] {
    return [...this.entries.values()];
  }
}
