// A set kept in most-recently-used order: `touch` moves an item to the front in O(1); iteration is front to back.

interface Node<T> {
  item: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
}

/** Items in use order: touched ones first (the latest at the front), never touched ones after, in the order added. */
export class MruList<T> implements Iterable<T> {
  private readonly nodes = new Map<T, Node<T>>();
  private head: Node<T> | undefined;
  private tail: Node<T> | undefined;

  get size(): number {
    return this.nodes.size;
  }

  has(item: T): boolean {
    return this.nodes.has(item);
  }

  /** Adds at the back (not used yet); nothing when already in. */
  add(item: T): void {
    if (this.nodes.has(item)) return;
    const node: Node<T> = { item, prev: this.tail, next: undefined };
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.nodes.set(item, node);
  }

  /** Removes; false when it was not in. */
  delete(item: T): boolean {
    const node = this.nodes.get(item);
    if (!node) return false;
    this.unlink(node);
    this.nodes.delete(item);
    return true;
  }

  /** Moves an item already in to the front. */
  touch(item: T): void {
    const node = this.nodes.get(item);
    if (!node || node === this.head) return;
    this.unlink(node);
    node.next = this.head;
    if (this.head) this.head.prev = node;
    this.head = node;
    if (!this.tail) this.tail = node;
  }

  *[Symbol.iterator](): Iterator<T> {
    // The next node is read before yielding: deleting the current item while iterating is safe.
    for (let node = this.head; node; ) {
      const next = node.next;
      yield node.item;
      node = next;
    }
  }

  private unlink(node: Node<T>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
  }
}
