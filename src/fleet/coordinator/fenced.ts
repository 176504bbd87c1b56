// The coordinator's only way to write (docs/fleet.md, the coordinator: fencing): one transaction conditioned on the
// create revision of its own election key, so a coordinator that lost its key cannot write when it wakes up.
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../../common/log.js';
import type { FleetKeys } from '../keys.js';
import { withDeadline } from '../registry/leases.js';

export type FencedOp = { put: string; value: string } | { delete: string };

/** An extra condition of a fenced write: `target(key) == value` (a create revision of 0: the key is absent). */
export interface FencedCompare {
  key: string;
  target: 'Create' | 'Mod' | 'Version';
  value: string | number;
}

interface FencedDeps {
  etcd: Etcd3;
  keys: FleetKeys;
  logger: Logger;
}

interface Fence {
  /** Whether this writer's election still stands (checked before each write: a deposed writer writes nothing). */
  current(): boolean;
  /** The election key is not ours any more: step down at once. */
  refused(reason: string): void;
}

/** Writes of one coordinator term: valid while K/coordinator's create revision is `revision`. */
export class FencedWriter {
  /** Set once this writer's term is over (a write refused: the election key is not ours; or the election stepped down): every later commit is refused. */
  fenced = false;

  constructor(
    private readonly deps: FencedDeps,
    readonly revision: string,
    private readonly fence: Fence,
  ) {}

  /** The term is over: nothing more is written through this writer. */
  end(): void {
    this.fenced = true;
  }

  /**
   * Applies `ops` in one transaction whose first comparison is createRevision(K/coordinator) == revision, then
   * `compares`. False when a comparison fails: when the fence failed the election steps down; when only an extra
   * comparison failed (a value changed meanwhile), nothing is written and the caller reads again. Throws when etcd did
   * not answer within 2 s (the write may or may not have happened).
   */
  async commit(ops: FencedOp[], compares: FencedCompare[] = []): Promise<boolean> {
    if (this.fenced || !this.fence.current()) return false;
    const { etcd, keys } = this.deps;
    let txn = etcd.if(keys.coordinator, 'Create', '==', this.revision);
    for (const c of compares) txn = txn.and(c.key, c.target, '==', c.value);
    txn = txn.then(...ops.map((op) => ('put' in op ? etcd.put(op.put).value(op.value) : etcd.delete().key(op.delete)))).else(etcd.get(keys.coordinator));
    const result = await withDeadline(txn.commit(), 2000);
    if (result.succeeded) return true;
    const holder = result.responses[0]?.response_range?.kvs[0];
    if (holder && String(holder.create_revision) === this.revision) {
      this.deps.logger.debug({ compares: compares.map((c) => c.key) }, 'fenced write not applied: a compared key changed');
      return false;
    }
    this.fenced = true;
    const reason = holder ? `a fenced write was refused: ${keys.coordinator} is held by ${describeHolder(holder.value.toString())}` : `a fenced write was refused: ${keys.coordinator} is gone`;
    this.deps.logger.warn({ revision: this.revision }, reason);
    this.fence.refused(reason);
    return false;
  }
}

function describeHolder(text: string): string {
  try {
    const value = JSON.parse(text) as { host?: unknown; incarnation?: unknown };
    return `${String(value.host)} (incarnation ${String(value.incarnation)})`;
  } catch {
    return 'another coordinator';
  }
}
