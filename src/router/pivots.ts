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

/** Which commands the stored pivots declare, and of which products, kept current as configurations are saved. */
export class PivotIndex {
  /** `type/product/major.minor` → its product and command names. */
  private readonly byKey = new Map<string, { product: string; names: string[] }>();
  /** command → how many stored pivots of each product (`type/product`) declare it. */
  private readonly byCommand = new Map<string, Map<string, number>>();

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
    const product = productKey(stored.key);
    const id = `${product}/${stored.key.major}.${stored.key.minor}`;
    const old = this.byKey.get(id);
    for (const name of old?.names ?? []) this.count(name, old!.product, -1);
    const names = [...new Set(pivotCommands(stored.pivot_json))];
    this.byKey.set(id, { product, names });
    for (const name of names) this.count(name, product, 1);
  }

  /** `type/product` of every stored pivot declaring `command`. */
  productsDeclaring(command: string): Iterable<string> {
    return this.byCommand.get(command)?.keys() ?? [];
  }

  /** True when some stored pivot declares `command`. */
  declares(command: string): boolean {
    return this.byCommand.has(command);
  }

  private count(command: string, product: string, delta: 1 | -1): void {
    let products = this.byCommand.get(command);
    if (!products) this.byCommand.set(command, (products = new Map()));
    const n = (products.get(product) ?? 0) + delta;
    if (n > 0) products.set(product, n);
    else products.delete(product);
    if (products.size === 0) this.byCommand.delete(command);
  }
}
