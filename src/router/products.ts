// Which products serve or declare a command: what makes a command known, and an unpinned one ambiguous (docs/protocol.md).
import type { ExpectationRegistry } from './expectations.js';
import type { PivotIndex } from './pivots.js';
import type { ConnectionRegistry } from './registry.js';

export class ProductScope {
  /** The products (`type/product`) the admin's configuration lists, as its last Hello said. */
  private configured: ReadonlySet<string> = new Set();
  /** In a fleet: the products other hosts serve, expect or are configured for. */
  private remote: { productsDeclaring(command: string): ReadonlySet<string> } | undefined;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly expectations: ExpectationRegistry,
    private readonly pivots: PivotIndex,
  ) {}

  /** Replaced by each admin Hello; kept while the admin reconnects, so the rules do not change meanwhile. */
  setConfigured(products: Iterable<string>): void {
    this.configured = new Set(products);
  }

  /** Joins a fleet: what other hosts declare counts too. */
  useRemote(remote: { productsDeclaring(command: string): ReadonlySet<string> }): void {
    this.remote = remote;
  }

  /**
   * Known (queued until a worker takes it, not NO_WORKER at once): a live connection, a live expectation or any stored
   * pivot declares it — of `product` only, when the command is pinned to one.
   */
  knows(command: string, product = ''): boolean {
    const { registry, expectations, pivots } = this;
    const remote = this.remote?.productsDeclaring(command);
    if (product === '') return registry.declares(command) || expectations.declares(command) || pivots.declares(command) || (remote !== undefined && remote.size > 0);
    if (remote?.has(product)) return true;
    return has(registry.productsServing(command), product) || expectations.productsDeclaring(command).has(product) || has(pivots.productsDeclaring(command), product);
  }

  /**
   * The products that serve or declare `command`, sorted, when there are more than one (else undefined): connected,
   * expected, or configured with a stored pivot that declares it. A product only stored (retired) does not count.
   */
  ambiguity(command: string): string[] | undefined {
    const products = new Set(this.registry.productsServing(command));
    for (const p of this.expectations.productsDeclaring(command)) products.add(p);
    for (const p of this.pivots.productsDeclaring(command)) if (this.configured.has(p)) products.add(p);
    for (const p of this.remote?.productsDeclaring(command) ?? []) products.add(p);
    if (products.size < 2) return undefined;
    return [...products].sort();
  }
}

function has(items: Iterable<string>, wanted: string): boolean {
  for (const item of items) if (item === wanted) return true;
  return false;
}
