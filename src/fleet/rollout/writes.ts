// The runner's writes within one coordinator pass: a working copy of what the pass read, and changes committed as one
// fenced transaction each (a record with the assignments, running version and requests it touches, never apart).
import type { FleetKeys } from '../keys.js';
import type { HostAssignments, RunningVersion } from '../placement/types.js';
import type { FencedCompare, FencedOp } from '../coordinator/fenced.js';
import type { Read, RolloutView, RolloutWriter } from './ports.js';
import type { RolloutRecord } from './types.js';

/** A key as this pass knows it: its value and the mod revision read (null once this pass wrote it). */
interface Known<T> {
  value: T;
  modRevision: string | null;
}

/** `type/product` → its two parts. */
export function splitProduct(product: string): [string, string] {
  const at = product.indexOf('/');
  return [product.slice(0, at), product.slice(at + 1)];
}

function known<T>(map: ReadonlyMap<string, Read<T>>): Map<string, Known<T>> {
  return new Map([...map].map(([k, r]) => [k, { value: r.value, modRevision: r.modRevision }]));
}

/** What this pass read, updated with what it wrote. */
export class PassState {
  readonly assignments: Map<string, Known<HostAssignments>>;
  readonly running: Map<string, Known<RunningVersion>>;
  readonly rollouts: Map<string, Known<RolloutRecord>>;
  /** Keys of requests and controls this pass deleted or answered: not taken again. */
  readonly settled = new Set<string>();

  constructor(readonly view: RolloutView, readonly keys: FleetKeys) {
    this.assignments = known(view.assignments);
    this.running = known(view.running);
    this.rollouts = known(view.rollouts);
  }

  /** A view for the health checks: the pass's view with the assignments as written so far. */
  current(): RolloutView {
    const assignments = new Map([...this.assignments].map(([h, k]) => [h, { value: k.value, modRevision: k.modRevision ?? '' }]));
    return { ...this.view, assignments };
  }

  change(): Change {
    return new Change(this);
  }
}

/** Writes for one product, committed together. */
export class Change {
  private readonly hosts = new Map<string, HostAssignments>();
  private record: { product: string; value: RolloutRecord } | undefined;
  private readonly running = new Map<string, RunningVersion>();
  private readonly deletes: Array<{ key: string; modRevision?: string }> = [];
  private readonly puts: Array<{ key: string; value: string; modRevision?: string }> = [];

  constructor(private readonly state: PassState) {}

  /** Sets an identifier's version in its host's assignments; false when the host does not list it. */
  setVersion(host: string, identifier: string, version: string): boolean {
    const current = this.hosts.get(host) ?? this.state.assignments.get(host)?.value;
    if (!current || !current.instances.some((i) => i.identifier === identifier)) return false;
    const instances = current.instances.map((i) => (i.identifier === identifier ? { ...i, version } : i));
    this.hosts.set(host, { ...current, at: this.state.view.now, instances });
    return true;
  }

  putRecord(product: string, value: RolloutRecord): void {
    this.record = { product, value };
  }

  putRunning(product: string, value: RunningVersion): void {
    this.running.set(product, value);
  }

  /** Puts another key (a request's result, a history entry); with `modRevision`, only if it is unchanged. */
  put(key: string, value: unknown, modRevision?: string): void {
    this.puts.push({ key, value: JSON.stringify(value), ...(modRevision === undefined ? {} : { modRevision }) });
  }

  /** Deletes a key; with `modRevision`, only if it is unchanged (a control written meanwhile is not lost). */
  delete(key: string, modRevision?: string): void {
    if (!this.state.settled.has(key)) this.deletes.push(modRevision === undefined ? { key } : { key, modRevision });
  }

  get empty(): boolean {
    return this.hosts.size === 0 && !this.record && this.running.size === 0 && this.deletes.length === 0 && this.puts.length === 0;
  }

  /** One fenced transaction; on success the pass's state takes the new values. */
  async commit(writer: RolloutWriter): Promise<boolean> {
    if (this.empty) return true;
    const { keys } = this.state;
    const ops: FencedOp[] = [];
    const compares: FencedCompare[] = [];
    const guard = (key: string, read: Known<unknown> | undefined): void => {
      if (!read) compares.push({ key, target: 'Create', value: 0 });
      else if (read.modRevision !== null) compares.push({ key, target: 'Mod', value: read.modRevision });
    };
    for (const [host, value] of this.hosts) {
      guard(keys.assignments(host), this.state.assignments.get(host));
      ops.push({ put: keys.assignments(host), value: JSON.stringify(value) });
    }
    if (this.record) {
      const key = keys.rollouts(...splitProduct(this.record.product));
      guard(key, this.state.rollouts.get(this.record.product));
      ops.push({ put: key, value: JSON.stringify(this.record.value) });
    }
    for (const [product, value] of this.running) {
      const key = keys.running(...splitProduct(product));
      guard(key, this.state.running.get(product));
      ops.push({ put: key, value: JSON.stringify(value) });
    }
    for (const p of this.puts) {
      ops.push({ put: p.key, value: p.value });
      if (p.modRevision !== undefined) compares.push({ key: p.key, target: 'Mod', value: p.modRevision });
    }
    for (const d of this.deletes) {
      ops.push({ delete: d.key });
      if (d.modRevision !== undefined) compares.push({ key: d.key, target: 'Mod', value: d.modRevision });
    }
    if (!(await writer.commit(ops, compares))) return false;
    for (const [host, value] of this.hosts) this.state.assignments.set(host, { value, modRevision: null });
    if (this.record) this.state.rollouts.set(this.record.product, { value: this.record.value, modRevision: null });
    for (const [product, value] of this.running) this.state.running.set(product, { value, modRevision: null });
    for (const d of this.deletes) this.state.settled.add(d.key);
    for (const p of this.puts) this.state.settled.add(p.key); // a request answered: not taken again in this pass
    return true;
  }
}
