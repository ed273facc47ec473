/**
 * A typed-array mirror of an interval tree for the bus→phys hot path (SPEC §6,
 * `xen_get_dma_info_from_dma` on every bounce unmap and sync): each node's `dma_addr`,
 * `size` and child links in typed arrays, numbered breadth-first so that the top levels
 * share cache lines, instead of two dependent loads per level through node and entry
 * objects. The walk makes exactly the comparisons of findInterval's hot path
 * (lib/swiotlb_xen/tree.ts) on the same shape, so it finds the same node: the first on
 * the path that holds the address, also where the RFC's insert let intervals overlap or
 * repeat. The node walk stays for `lookup bus`'s recorded steps and for `explain`.
 *
 * The mirror is rebuilt after inserts and erases (RbTree.mutations), but not at once:
 * until enough lookups have run on the changed tree to pay for a rebuild (an eighth of
 * its size), they walk the nodes. A burst of inserts (init, coherent allocations) costs
 * no rebuild, and no lookup ever reads a stale mirror.
 *
 * @module
 */

import type { RbNode, RbTree } from "../rbtree.ts";
import type { Interval } from "./tree.ts";

/**
 * The lookup index of an interval tree ordered by `dmaAddr`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RbTree } from "../rbtree.ts";
 * import { findInterval, type Interval } from "./tree.ts";
 * import { IntervalIndex } from "./tree_index.ts";
 * const t = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
 * const index = new IntervalIndex(t, findInterval);
 * for (let j = 0; j < 8; j++) t.insert({ dmaAddr: j * 0x40000, physAddr: j, size: 0x40000 });
 * assertEquals(index.find(5 * 0x40000 + 7)?.physAddr, 5);
 * assertEquals(index.find(8 * 0x40000), null);
 * ```
 */
export class IntervalIndex<E extends Interval> {
  readonly tree: RbTree<E>;
  /** The node walk the mirror stands in for (findInterval without steps). */
  readonly #walk: (tree: RbTree<E>, x: number) => RbNode<E> | null;
  /** Node k's dma_addr, breadth-first from the root (k = 0). */
  #dmaAddr = new Float64Array(0);
  /** Node k's size. */
  #size = new Float64Array(0);
  /** Node k's left and right children (node numbers), −1 for none. */
  #left = new Int32Array(0);
  #right = new Int32Array(0);
  /** Node k's entry. */
  #entries: E[] = [];
  /** 0 when the mirror has a root, else -1. */
  #root = -1;
  /** tree.mutations when the mirror was built; -1: never. */
  #builtAt = -1;
  /** Lookups walked on the nodes since the tree last changed. */
  #walked = 0;

  constructor(tree: RbTree<E>, walk: (tree: RbTree<E>, x: number) => RbNode<E> | null) {
    this.tree = tree;
    this.#walk = walk;
  }

  /** The entry of the node the node walk finds for `x`, or null. Allocates nothing. */
  find(x: number): E | null {
    if (this.#builtAt !== this.tree.mutations && !this.#rebuildDue()) {
      const n = this.#walk(this.tree, x);
      return n === null ? null : n.entry;
    }
    const dmaAddr = this.#dmaAddr;
    const sizes = this.#size;
    const left = this.#left;
    const right = this.#right;
    // The comparisons of findInterval's hot path, in the same order (see there for why
    // the offset is tested first and why the sum then decides).
    let k = this.#root;
    while (k >= 0) {
      const start = dmaAddr[k];
      if (x < start) {
        k = left[k];
      } else {
        const size = sizes[k];
        const d = x - start;
        if (d < size) {
          if (x < start + size) return this.#entries[k];
          k = right[k];
        } else if (d === size && x < start + size) {
          return this.#entries[k];
        } else {
          k = right[k];
        }
      }
    }
    return null;
  }

  /** Counts a lookup on the changed tree; true once they paid for a rebuild, done. */
  #rebuildDue(): boolean {
    if (++this.#walked <= (this.tree.size >> 3) + 8) return false;
    this.#walked = 0;
    return this.#rebuild();
  }

  /**
   * Mirrors the tree as it is now; false (the mirror stays stale) when its links reach
   * more nodes than it counts — a tree relinked by hand into a cycle keeps walking the
   * nodes.
   */
  #rebuild(): boolean {
    const root = this.tree.root;
    const room = this.tree.size;
    if (root !== null && room === 0) return false;
    // A failed build may scribble on the old mirror: it is stale and unused already.
    if (this.#dmaAddr.length !== room) {
      this.#dmaAddr = new Float64Array(room);
      this.#size = new Float64Array(room);
      this.#left = new Int32Array(room);
      this.#right = new Int32Array(room);
    }
    const queue: RbNode<E>[] = root === null ? [] : [root];
    // Breadth-first: a node's number is its place in the queue, known when it is queued.
    const link = (links: Int32Array, k: number, child: RbNode<E> | null): boolean => {
      if (child === null) {
        links[k] = -1;
        return true;
      }
      if (queue.length === room) return false;
      links[k] = queue.length;
      queue.push(child);
      return true;
    };
    for (let k = 0; k < queue.length; k++) {
      const node = queue[k];
      this.#dmaAddr[k] = node.entry.dmaAddr;
      this.#size[k] = node.entry.size;
      if (!link(this.#left, k, node.left) || !link(this.#right, k, node.right)) return false;
    }
    this.#entries = queue.map((node) => node.entry);
    this.#root = queue.length > 0 ? 0 : -1;
    this.#builtAt = this.tree.mutations;
    return true;
  }
}
