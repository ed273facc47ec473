/**
 * A red-black tree that behaves like Linux 3.11's `lib/rbtree.c`: same insert fix-up
 * (`rb_insert_color`), same erase (`rb_erase` = `__rb_erase_augmented` +
 * `____rb_erase_color`), so the shape and colours after any sequence of inserts and
 * erases equal the kernel's when the caller descends left on `less(new, node)` and right
 * otherwise (SPEC §11). `tests/fixtures/rbtree.json`, recorded from the kernel, holds us to
 * it.
 *
 * Invariants kept between calls (the classic five):
 *
 *  1. every node is red or black;
 *  2. the root is black;
 *  3. the empty (null) leaves count as black;
 *  4. a red node has no red child;
 *  5. every path from a node down to an empty leaf meets the same number of black nodes
 *     (the node's "black height").
 *
 * 4 and 5 together bound the height: the shortest root-to-leaf path can be all black, the
 * longest can at most alternate red and black, so no path is more than twice another and a
 * tree of n nodes is at most 2·log2(n + 1) deep. That is what keeps the swiotlb-xen bus→phys
 * lookup O(log n) (SPEC §6).
 *
 * The kernel packs parent and colour in one word (`__rb_parent_color`); here they are two
 * fields, and the tiny helpers that keep the pointer surgery in one place
 * (`__rb_change_child`, `__rb_rotate_set_parents`) keep their kernel names in comments.
 * Drawings in the fix-up comments: upper case = black, lower case = red, as in the kernel.
 *
 * Nodes are intrusive, as in the kernel: {@link RbTree.insert} returns the node that holds
 * the entry, and {@link RbTree.erase} takes that node back.
 *
 * @module
 */

import { LabError } from "./errors.ts";
import { defaultKey, RED } from "./rbtree/_helpers.ts";
import { rbEraseAugmented, rbEraseColor } from "./rbtree/erase.ts";
import { rbInsertColor } from "./rbtree/insert_color.ts";
import { type RbProblem, rbValidate, type ValidateOptions } from "./rbtree/validate.ts";

export { positionPath, shape } from "./rbtree/shape.ts";
export type { RbProblem, RbRule, ValidateOptions } from "./rbtree/validate.ts";

/** A node's colour. */
export type Color = "red" | "black";

/**
 * A tree node (`struct rb_node` embedded in the caller's `E`). The links are writable so
 * that tests and inspectors can build deliberately broken trees; only the tree's own
 * methods should change them otherwise.
 */
export interface RbNode<E> {
  /** The caller's object this node is embedded in (`rb_entry()`). */
  readonly entry: E;
  /** Left child (`rb_left`), or null. */
  left: RbNode<E> | null;
  /** Right child (`rb_right`), or null. */
  right: RbNode<E> | null;
  /**
   * Parent (`rb_parent()`), null for the root. An erased node points at itself, the
   * kernel's `RB_CLEAR_NODE` convention for "not in a tree".
   */
  parent: RbNode<E> | null;
  /** Colour (`rb_color()`). */
  color: Color;
}

/** The one concrete node class, so every node has the same hidden class (hot paths). */
class Node<E> implements RbNode<E> {
  readonly entry: E;
  left: RbNode<E> | null;
  right: RbNode<E> | null;
  parent: RbNode<E> | null;
  color: Color;
  constructor(entry: E) {
    this.entry = entry;
    this.left = null;
    this.right = null;
    this.parent = null;
    // rb_link_node(): a freshly linked node is red.
    this.color = RED;
  }
}

/** The kernel function a {@link RbFixupStep} belongs to. */
export type RbFixupFn =
  | "rb_link_node"
  | "rb_insert_color"
  | "__rb_erase_augmented"
  | "____rb_erase_color";

/**
 * `rb_link_node`: a new red node was linked where the insert's descent ended, before
 * `rb_insert_color` runs.
 */
export interface RbLinkStep<E> {
  fn: "rb_link_node";
  /** The new node (red). */
  node: RbNode<E>;
  /** The node it hangs below, null when it is the root. */
  parent: RbNode<E> | null;
}

/**
 * A branch of `rb_insert_color` (`node` is red). Cases 1–3 are the kernel's: 1 "color
 * flips" (the uncle is red too), 2 "left rotate at parent" (node is an inner grandchild;
 * mirror: right), 3 "right rotate at gparent" (node is an outer grandchild; mirror: left).
 * Case 0 is where the loop ends without a case: `parent` null (node is the root, painted
 * black) or a black `parent` (nothing to fix).
 */
export interface RbInsertStep<E> {
  fn: "rb_insert_color";
  case: 0 | 1 | 2 | 3;
  /** True when parent is gparent's right child (the kernel's `else` half). */
  mirror: boolean;
  /**
   * The red node the case is about; for Case 3 the outer red child of `parent` (after a
   * Case 2 that is the old parent).
   */
  node: RbNode<E>;
  /** node's red parent (Case 0: null or black). */
  parent: RbNode<E> | null;
  /** parent's parent (black), null for Case 0. */
  gparent: RbNode<E> | null;
  /** gparent's other child: red for Case 1, black or null for Cases 2 and 3. */
  uncle: RbNode<E> | null;
}

/**
 * A branch of `__rb_erase_augmented` (`include/linux/rbtree_augmented.h`): 1 "node to
 * erase has no more than 1 child" (mirror: "Still case 1, but this time the child is
 * node->rb_left"), 2 "node's successor is its right child", 3 "node's successor is
 * leftmost under node's right child subtree".
 */
export interface RbEraseStep<E> {
  fn: "__rb_erase_augmented";
  case: 1 | 2 | 3;
  /** True for the left-child-only half of Case 1. */
  mirror: boolean;
  /** The node being erased. */
  node: RbNode<E>;
  /** Cases 2 and 3: the in-order successor that takes node's place; else null. */
  successor: RbNode<E> | null;
  /**
   * The node that moves up into the hole: Case 1 node's only child, Cases 2 and 3 the
   * successor's right child; null when there is none.
   */
  child: RbNode<E> | null;
  /**
   * The node below which paths are now one black short, handed to `____rb_erase_color`;
   * null when the erase needs no colour fix-up.
   */
  rebalance: RbNode<E> | null;
}

/**
 * A branch of `____rb_erase_color`: paths through `parent`'s child `node` are one black
 * short. 1 "left rotate at parent" (the sibling is red), 2 "sibling color flip" (sibling
 * and both its children black), 3 "right rotate at sibling" (the near nephew is red), 4
 * "left rotate at parent + color flips" (the far nephew is red); mirrors swap left and
 * right.
 */
export interface RbEraseColorStep<E> {
  fn: "____rb_erase_color";
  case: 1 | 2 | 3 | 4;
  /** True when the short side is parent's right. */
  mirror: boolean;
  parent: RbNode<E>;
  /** The black-short child, null on the first pass (the erased leaf's empty link). */
  node: RbNode<E> | null;
  /** node's sibling, the node the case looks at. */
  sibling: RbNode<E>;
  /** Case 3: the red near nephew that rotates up; Case 4: the red far nephew painted black. */
  nephew: RbNode<E> | null;
}

/**
 * One fix-up branch taken, reported to {@link RbTree.onFixup} before the branch changes
 * anything (so the colours are those the case tests). The case numbers are Linux 3.11's
 * `lib/rbtree.c` and `include/linux/rbtree_augmented.h`; the titles are for the caller to
 * name (no words here).
 */
export type RbFixupStep<E> =
  | RbLinkStep<E>
  | RbInsertStep<E>
  | RbEraseStep<E>
  | RbEraseColorStep<E>;

/**
 * A Linux-style red-black tree ordered by `less`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RbTree, shape } from "./rbtree.ts";
 * const t = new RbTree<number>((a, b) => a < b);
 * for (const k of [1, 2, 3, 4]) t.insert(k);
 * assertEquals(shape(t, String), "2:B(1:B,3:B(-,4:R))");
 * t.erase(t.first()!);
 * assertEquals(shape(t, String), "3:B(2:B,4:B)");
 * ```
 */
export class RbTree<E> {
  /** The ordering: an insert descends left when `less(new, node)`, else right. */
  readonly less: (a: E, b: E) => boolean;
  /** The root node (`struct rb_root`'s `rb_node`), null when empty. */
  root: RbNode<E> | null = null;
  /**
   * Called once per fix-up branch taken, when set (no kernel analogue: it feeds `explain`
   * and lets tests see which case ran). Leave null on hot paths: then no step is built.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<number>((a, b) => a < b);
   * t.insert(3);
   * t.insert(1);
   * const steps: string[] = [];
   * t.onFixup = (s) => steps.push(s.fn === "rb_link_node" ? s.fn : `${s.fn} ${s.case}`);
   * t.insert(2); // an inner grandchild: rotate it outward, then rotate at the grandparent
   * assertEquals(steps, ["rb_link_node", "rb_insert_color 2", "rb_insert_color 3"]);
   * ```
   */
  onFixup: ((step: RbFixupStep<E>) => void) | null = null;
  #count = 0;
  #mutations = 0;

  /** Creates an empty tree ordered by `less` (`RB_ROOT`). */
  constructor(less: (a: E, b: E) => boolean) {
    this.less = less;
  }

  /** Number of nodes in the tree (no kernel analogue: the kernel does not count). */
  get size(): number {
    return this.#count;
  }

  /**
   * Inserts and erases so far (no kernel analogue): a view derived from the tree's shape
   * (the bus tree's lookup index) is stale when this has changed. Links set by hand are
   * not counted.
   */
  get mutations(): number {
    return this.#mutations;
  }

  /**
   * Links a new node for `entry` where a descent by `less` ends (`rb_link_node`) and
   * rebalances (`rb_insert_color`). Equal entries go right, i.e. after the existing ones
   * in order. Allocates only the node.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<{ k: number; id: string }>((a, b) => a.k < b.k);
   * for (const id of ["a", "b", "c"]) t.insert({ k: 1, id });
   * assertEquals(t.inorder().map((e) => e.id), ["a", "b", "c"]);
   * ```
   */
  insert(entry: E): RbNode<E> {
    const node = new Node(entry);
    const less = this.less;
    let cur = this.root;
    if (cur === null) {
      this.root = node;
    } else {
      for (;;) {
        if (less(entry, cur.entry)) {
          if (cur.left === null) {
            cur.left = node;
            break;
          }
          cur = cur.left;
        } else {
          if (cur.right === null) {
            cur.right = node;
            break;
          }
          cur = cur.right;
        }
      }
      node.parent = cur;
    }
    this.#count++;
    this.#mutations++;
    rbInsertColor(node, this);
    return node;
  }

  /**
   * Removes `node` from the tree and rebalances (`rb_erase`). The node must be in this
   * tree, as in the kernel; afterwards it is cleared (`RB_CLEAR_NODE`: parent points to
   * itself) so that a second erase is refused instead of corrupting the tree.
   *
   * @example
   * ```ts
   * import { assertEquals, assertThrows } from "@std/assert";
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<number>((a, b) => a < b);
   * const n = t.insert(1);
   * t.erase(n);
   * assertEquals(t.size, 0);
   * assertThrows(() => t.erase(n), Error, "not in a tree");
   * ```
   */
  erase(node: RbNode<E>): void {
    if (node.parent === node) {
      throw new LabError(
        `Cannot erase node ${defaultKey(node.entry)}: it is not in a tree (already erased?)`,
      );
    }
    const rebalance = rbEraseAugmented(node, this);
    if (rebalance !== null) rbEraseColor(rebalance, this);
    node.left = null;
    node.right = null;
    node.parent = node;
    this.#count--;
    this.#mutations++;
  }

  /** The leftmost (smallest) node (`rb_first`), or null when empty. */
  first(): RbNode<E> | null {
    let n = this.root;
    if (n === null) return null;
    while (n.left !== null) n = n.left;
    return n;
  }

  /** The rightmost (largest) node (`rb_last`), or null when empty. */
  last(): RbNode<E> | null {
    let n = this.root;
    if (n === null) return null;
    while (n.right !== null) n = n.right;
    return n;
  }

  /** The in-order successor of `n` (`rb_next`); null at the end or for an erased node. */
  next(n: RbNode<E>): RbNode<E> | null {
    if (n.parent === n) return null;
    // A right child means the successor is the leftmost node of that subtree.
    if (n.right !== null) {
      n = n.right;
      while (n.left !== null) n = n.left;
      return n;
    }
    // Otherwise climb while we are a right child; the first parent we reach from its
    // left is the successor.
    let parent = n.parent;
    while (parent !== null && n === parent.right) {
      n = parent;
      parent = n.parent;
    }
    return parent;
  }

  /** The in-order predecessor of `n` (`rb_prev`); null at the start or for an erased node. */
  prev(n: RbNode<E>): RbNode<E> | null {
    if (n.parent === n) return null;
    if (n.left !== null) {
      n = n.left;
      while (n.right !== null) n = n.right;
      return n;
    }
    let parent = n.parent;
    while (parent !== null && n === parent.left) {
      n = parent;
      parent = n.parent;
    }
    return parent;
  }

  /**
   * Generic descent from the root, the kernel's open-coded search loop: `pred(entry)`
   * returns -1 to go left, 1 to go right, 0 when found. Allocates nothing.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<number>((a, b) => a < b);
   * for (const k of [5, 2, 8]) t.insert(k);
   * const by = (k: number) => (e: number) => (k < e ? -1 : k > e ? 1 : 0);
   * assertEquals(t.find(by(8))?.entry, 8);
   * assertEquals(t.find(by(7)), null);
   * ```
   */
  find(pred: (e: E) => -1 | 0 | 1): RbNode<E> | null {
    let n = this.root;
    while (n !== null) {
      const c = pred(n.entry);
      if (c === 0) return n;
      n = c < 0 ? n.left : n.right;
    }
    return null;
  }

  /**
   * Entries and colours in preorder (root, left subtree, right subtree).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<number>((a, b) => a < b);
   * for (const k of [1, 2, 3]) t.insert(k);
   * assertEquals(t.preorder(), [
   *   { entry: 2, color: "black" },
   *   { entry: 1, color: "red" },
   *   { entry: 3, color: "red" },
   * ]);
   * ```
   */
  preorder(): { entry: E; color: Color }[] {
    const out: { entry: E; color: Color }[] = [];
    const stack: RbNode<E>[] = [];
    if (this.root !== null) stack.push(this.root);
    while (stack.length > 0) {
      const n = stack.pop()!;
      out.push({ entry: n.entry, color: n.color });
      if (n.right !== null) stack.push(n.right);
      if (n.left !== null) stack.push(n.left);
    }
    return out;
  }

  /** Entries in order. */
  inorder(): E[] {
    const out: E[] = [];
    for (let n = this.first(); n !== null; n = this.next(n)) out.push(n.entry);
    return out;
  }

  /** Number of nodes on the longest root-to-leaf path (0 when empty). */
  height(): number {
    const depth = (n: RbNode<E> | null): number =>
      n === null ? 0 : 1 + Math.max(depth(n.left), depth(n.right));
    return depth(this.root);
  }

  /** Entries in order. */
  *[Symbol.iterator](): Iterator<E> {
    for (let n = this.first(); n !== null; n = this.next(n)) yield n.entry;
  }

  /**
   * Checks every invariant and returns one {@link RbProblem} per broken rule: the
   * {@link RbRule}, the position path of the node that breaks it (e.g. `root/l/r`), its
   * entry, and a message naming it as `<key> at <path>`; `[]` when the tree is valid.
   * Rules: `order`, `black root`, `red-red`, `black height`, `parent link`, `equal keys`
   * (only with `unique`), plus `color`, `cycle` and `size` for trees built by hand. Works
   * top-down from the root, so wrong parent pointers do not mislead it (drgn's
   * `validate_rbtree` does the same; the kernel has no analogue).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<number>((a, b) => a < b);
   * t.insert(1);
   * t.root!.color = "red";
   * assertEquals(t.validate(), [{
   *   rule: "black root",
   *   path: "root",
   *   node: 1,
   *   message: "black root: root node 1 at root is red",
   * }]);
   * ```
   */
  validate(opts: ValidateOptions<E> = {}): RbProblem<E>[] {
    return rbValidate(this, opts);
  }
}
