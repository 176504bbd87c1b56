// Commands declared by the pivots in the configuration store: they count as known (queued, not NO_WORKER).
import type { Logger } from '../common/log.js';
import type { StoredConfiguration } from '../proto/types.js';
import type { ConfigurationStore } from './config-store.js';
import { productKey } from '../common/names.js';

/** The command names of a pivot_json text (`{"commands":[{"name",…}]}`); [] when it has none. */
export function pivotCommands(pivotJson: string): string[] {
  let pivot: unknown;
  try {
    pivot = JSON.parse(pivotJson);
  } catch {
    return [];
  }
  const commands = (pivot as { commands?: unknown } | null)?.commands;
  if (!Array.isArray(commands)) return [];
  return commands
    .map((c: unknown) => (typeof c === 'string' ? c : (c as { name?: unknown } | null)?.name))
    .filter((name): name is string => typeof name === 'string' && name.length > 0);
}

/** Which commands the stored pivots declare, kept current as configurations are saved. */
export class PivotIndex {
  private readonly byKey = new Map<string, string[]>();
  private readonly counts = new Map<string, number>();

  /** Indexes everything a store lists (stores without `list` contribute only what is saved later). */
  async load(store: ConfigurationStore, logger: Logger): Promise<void> {
    if (!store.list) return;
    try {
      for (const stored of await store.list()) this.record(stored);
    } catch (error) {
      logger.warn({ err: error }, 'cannot list the configuration store: stored pivots are not known until saved again');
    }
  }

  /** Records (or replaces) the pivot of one stored configuration. */
  record(stored: StoredConfiguration): void {
    if (!stored.key) return;
    const id = `${productKey(stored.key)}/${stored.key.major}.${stored.key.minor}`;
    for (const name of this.byKey.get(id) ?? []) this.counts.set(name, (this.counts.get(name) ?? 1) - 1);
    const names = [...new Set(pivotCommands(stored.pivot_json))];
    this.byKey.set(id, names);
    for (const name of names) this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  /** `type/product` of every stored pivot declaring `command`. */
  productsDeclaring(command: string): Set<string> {
    const products = new Set<string>();
    for (const [id, names] of this.byKey) if (names.includes(command)) products.add(id.split('/').slice(0, 2).join('/'));
    return products;
  }

  /** True when some stored pivot declares `command`. */
  declares(command: string): boolean {
    return (this.counts.get(command) ?? 0) > 0;
  }
}
