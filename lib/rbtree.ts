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

/** A node's colour. */
export type Color = "red" | "black";

const RED: Color = "red";
const BLACK: Color = "black";

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
export type RbFixupFn = "rb_insert_color" | "__rb_erase_augmented" | "____rb_erase_color";

/**
 * One fix-up branch taken, reported to {@link RbTree.onFixup} (for `trace` output and
 * tests). `name` is the kernel's case title, e.g. "Case 2 - left rotate at parent";
 * mirror cases carry the mirrored title ("Case 2 - right rotate at parent") and
 * `mirror: true`.
 */
export interface RbFixupStep<E> {
  /** The kernel function whose branch this is. */
  fn: RbFixupFn;
  /** The kernel's case title. */
  name: string;
  /** True for the mirror-image branch (the node hangs on the right instead of the left). */
  mirror: boolean;
  /**
   * The node the case is about: for `rb_insert_color` the red node being fixed, for
   * `__rb_erase_augmented` the node being erased, for `____rb_erase_color` the parent of
   * the black-short subtree.
   */
  at: RbNode<E>;
}

/** Options for {@link RbTree.validate}. */
export interface ValidateOptions<E> {
  /** How to name an entry in messages. Default: the entry's JSON, else `String()`. */
  key?: (e: E) => string;
  /**
   * Report entries that compare equal (neither is `less` than the other). Off by default:
   * the tree itself allows ties (they go right), but swiotlb-xen's tree rejects equal bus
   * addresses at insert time (SPEC §6), so its checker turns this on.
   */
  unique?: boolean;
}

/**
 * A Linux-style red-black tree ordered by `less`.
 *
 * @example
 * ```ts
 * import { RbTree, shape } from "./rbtree.ts";
 * const t = new RbTree<number>((a, b) => a < b);
 * for (const k of [1, 2, 3, 4]) t.insert(k);
 * shape(t, String); // "2:B(1:B,3:B(-,4:R))"
 * t.erase(t.first()!);
 * shape(t, String); // "3:B(2:B,4:B)"
 * ```
 */
export class RbTree<E> {
  /** The ordering: an insert descends left when `less(new, node)`, else right. */
  readonly less: (a: E, b: E) => boolean;
  /** The root node (`struct rb_root`'s `rb_node`), null when empty. */
  root: RbNode<E> | null = null;
  /**
   * Called once per fix-up branch taken, when set (no kernel analogue: it feeds `trace`
   * and lets tests see which case ran). Leave null on hot paths.
   */
  onFixup: ((step: RbFixupStep<E>) => void) | null = null;
  #count = 0;

  /** Creates an empty tree ordered by `less` (`RB_ROOT`). */
  constructor(less: (a: E, b: E) => boolean) {
    this.less = less;
  }

  /** Number of nodes in the tree (no kernel analogue: the kernel does not count). */
  get size(): number {
    return this.#count;
  }

  /**
   * Links a new node for `entry` where a descent by `less` ends (`rb_link_node`) and
   * rebalances (`rb_insert_color`). Equal entries go right, i.e. after the existing ones
   * in order. Allocates only the node.
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
    this.#insertColor(node);
    return node;
  }

  /**
   * Removes `node` from the tree and rebalances (`rb_erase`). The node must be in this
   * tree, as in the kernel; afterwards it is cleared (`RB_CLEAR_NODE`: parent points to
   * itself) so that a second erase is refused instead of corrupting the tree.
   */
  erase(node: RbNode<E>): void {
    if (node.parent === node) {
      throw new LabError(
        `Cannot erase node ${defaultKey(node.entry)}: it is not in a tree (already erased?)`,
      );
    }
    const rebalance = this.#eraseAugmented(node);
    if (rebalance !== null) this.#eraseColor(rebalance);
    node.left = null;
    node.right = null;
    node.parent = node;
    this.#count--;
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

  /** Entries and colours in preorder (root, left subtree, right subtree). */
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
   * Checks every invariant and returns one message per broken rule, naming the node as
   * `<key> at <path>` (path from the root, e.g. `root/l/r`), or `[]` when the tree is
   * valid. Rules: `order` (in-order sequence non-decreasing by `less`: a node in a left
   * subtree must not be greater than the ancestor, one in a right subtree not less),
   * `black root`, `red-red`, `black height`, `parent link`, `equal keys` (only with
   * `unique`), plus `color` (not "red"/"black"), `cycle` and `size` for trees built by
   * hand. Works top-down from the root, so wrong parent pointers do not mislead it.
   *
   * @example
   * ```ts
   * import { RbTree } from "./rbtree.ts";
   * const t = new RbTree<number>((a, b) => a < b);
   * t.insert(1);
   * t.root!.color = "red";
   * t.validate(); // ["black root: root node 1 at root is red"]
   * ```
   */
  validate(opts: ValidateOptions<E> = {}): string[] {
    const key = opts.key ?? defaultKey;
    const unique = opts.unique ?? false;
    const less = this.less;
    const out: string[] = [];
    const at = (n: RbNode<E>, path: string) => `${key(n.entry)} at ${path}`;
    const seen = new Set<RbNode<E>>();
    let prev: RbNode<E> | null = null;
    let prevPath = "";

    // Returns the black height of the subtree at n (black nodes on every path down to an
    // empty leaf), or -1 when it is already broken below, so a defect is reported once,
    // at the lowest node where the counts differ.
    const visit = (
      n: RbNode<E>,
      path: string,
      lo: RbNode<E> | null,
      loPath: string,
      hi: RbNode<E> | null,
      hiPath: string,
    ): number => {
      seen.add(n);
      if (n.color !== RED && n.color !== BLACK) {
        out.push(`color: node ${at(n, path)} has colour ${JSON.stringify(n.color)}`);
      }
      if (lo !== null && less(n.entry, lo.entry)) {
        out.push(
          `order: node ${at(n, path)} is in the right subtree of ${at(lo, loPath)} ` +
            `but less than it`,
        );
      }
      if (hi !== null && less(hi.entry, n.entry)) {
        out.push(
          `order: node ${at(n, path)} is in the left subtree of ${at(hi, hiPath)} ` +
            `but greater than it`,
        );
      }
      const child = (c: RbNode<E> | null, side: "left" | "right"): number => {
        if (c === null) return 0;
        const cPath = path + (side === "left" ? "/l" : "/r");
        if (seen.has(c)) {
          out.push(`cycle: node ${at(n, path)} has ${side} child ${key(c.entry)} seen above`);
          return -1;
        }
        if (c.parent !== n) {
          const p = c.parent === null ? "null" : key(c.parent.entry);
          out.push(
            `parent link: node ${at(n, path)} has ${side} child ${at(c, cPath)} ` +
              `whose parent pointer is ${p}`,
          );
        }
        if (n.color === RED && c.color === RED) {
          out.push(`red-red: red node ${at(n, path)} has red ${side} child ${at(c, cPath)}`);
        }
        return side === "left"
          ? visit(c, cPath, lo, loPath, n, path)
          : visit(c, cPath, n, path, hi, hiPath);
      };
      const lh = child(n.left, "left");
      if (unique && prev !== null && !less(prev.entry, n.entry) && !less(n.entry, prev.entry)) {
        out.push(`equal keys: node ${at(prev, prevPath)} and node ${at(n, path)} compare equal`);
      }
      prev = n;
      prevPath = path;
      const rh = child(n.right, "right");
      if (lh < 0 || rh < 0) return -1;
      if (lh !== rh) {
        out.push(
          `black height: node ${at(n, path)} has ${lh} black nodes on paths through its ` +
            `left subtree but ${rh} through its right`,
        );
        return -1;
      }
      return lh + (n.color === BLACK ? 1 : 0);
    };

    const root = this.root;
    if (root !== null) {
      if (root.parent !== null) {
        out.push(
          `parent link: root node ${at(root, "root")} has parent pointer ` +
            `${key(root.parent.entry)} (must be null)`,
        );
      }
      if (root.color === RED) out.push(`black root: root node ${at(root, "root")} is red`);
      visit(root, "root", null, "", null, "");
    }
    if (seen.size !== this.#count) {
      out.push(`size: the tree counts ${this.#count} nodes but ${seen.size} are reachable`);
    }
    return out;
  }

  // ---- helpers (the kernel's rbtree_augmented.h / rbtree.c statics) ----

  #emit(fn: RbFixupFn, name: string, mirror: boolean, at: RbNode<E>): void {
    this.onFixup!({ fn, name, mirror, at });
  }

  /** `__rb_change_child`: make `parent` (or the root) point at `nw` instead of `old`. */
  #changeChild(old: RbNode<E>, nw: RbNode<E> | null, parent: RbNode<E> | null): void {
    if (parent === null) this.root = nw;
    else if (parent.left === old) parent.left = nw;
    else parent.right = nw;
  }

  /**
   * `__rb_rotate_set_parents`: `nw` takes `old`'s place (parent and colour) and becomes
   * `old`'s parent; `old` gets `color`.
   */
  #rotateSetParents(old: RbNode<E>, nw: RbNode<E>, color: Color): void {
    const parent = old.parent;
    nw.parent = parent;
    nw.color = old.color;
    old.parent = nw;
    old.color = color;
    this.#changeChild(old, nw, parent);
  }

  /**
   * `rb_insert_color` (the kernel's `__rb_insert`): `node` is red and freshly linked.
   *
   * Loop invariant: `node` is red. If its parent is black (or it is the root, which is
   * then painted black) we are done; otherwise the parent is red, so it is not the root
   * and the grandparent exists and is black.
   */
  #insertColor(node: RbNode<E>): void {
    const trace = this.onFixup !== null;
    let parent = node.parent;
    for (;;) {
      if (parent === null) {
        // The root: painting it black adds one to every path, keeping 5.
        node.color = BLACK;
        return;
      }
      if (parent.color === BLACK) return;
      const gparent = parent.parent!;
      let tmp = gparent.right;
      if (parent !== tmp) {
        // parent is gparent's left child.
        if (tmp !== null && tmp.color === RED) {
          // Case 1 - color flips: the uncle is red too. Push the red up a level:
          //
          //       G            g
          //      / \          / \
          //     p   u  -->   P   U
          //    /            /
          //   n            n
          //
          // g may now have a red parent: continue from g.
          if (trace) this.#emit("rb_insert_color", "Case 1 - color flips", false, node);
          tmp.color = BLACK;
          parent.color = BLACK;
          node = gparent;
          parent = node.parent;
          node.color = RED;
          continue;
        }
        tmp = parent.right;
        if (node === tmp) {
          // Case 2 - left rotate at parent: node is an inner grandchild; turn it outer.
          //
          //      G             G
          //     / \           / \
          //    p   U  -->    n   U
          //     \           /
          //      n         p
          //
          // Still red-red (n, p swapped roles): fall through to Case 3.
          if (trace) {
            this.#emit("rb_insert_color", "Case 2 - left rotate at parent", false, node);
          }
          tmp = node.left;
          parent.right = tmp;
          node.left = parent;
          if (tmp !== null) {
            tmp.parent = parent;
            tmp.color = BLACK;
          }
          parent.parent = node;
          parent.color = RED;
          parent = node;
          tmp = node.right;
        }
        // Case 3 - right rotate at gparent: node is an outer grandchild.
        //
        //        G           P
        //       / \         / \
        //      p   U  -->  n   g
        //     /                 \
        //    n                   U
        if (trace) this.#emit("rb_insert_color", "Case 3 - right rotate at gparent", false, node);
        gparent.left = tmp;
        parent.right = gparent;
        if (tmp !== null) {
          tmp.parent = gparent;
          tmp.color = BLACK;
        }
        this.#rotateSetParents(gparent, parent, RED);
        return;
      } else {
        // parent is gparent's right child: the mirror image.
        tmp = gparent.left;
        if (tmp !== null && tmp.color === RED) {
          // Case 1 - color flips
          if (trace) this.#emit("rb_insert_color", "Case 1 - color flips", true, node);
          tmp.color = BLACK;
          parent.color = BLACK;
          node = gparent;
          parent = node.parent;
          node.color = RED;
          continue;
        }
        tmp = parent.left;
        if (node === tmp) {
          // Case 2 - right rotate at parent
          if (trace) {
            this.#emit("rb_insert_color", "Case 2 - right rotate at parent", true, node);
          }
          tmp = node.right;
          parent.left = tmp;
          node.right = parent;
          if (tmp !== null) {
            tmp.parent = parent;
            tmp.color = BLACK;
          }
          parent.parent = node;
          parent.color = RED;
          parent = node;
          tmp = node.left;
        }
        // Case 3 - left rotate at gparent
        if (trace) this.#emit("rb_insert_color", "Case 3 - left rotate at gparent", true, node);
        gparent.right = tmp;
        parent.left = gparent;
        if (tmp !== null) {
          tmp.parent = gparent;
          tmp.color = BLACK;
        }
        this.#rotateSetParents(gparent, parent, RED);
        return;
      }
    }
  }

  /**
   * `__rb_erase_augmented` (without augmentation): unlink `node`, replacing it by its
   * only child or by its in-order successor. Returns the node below which one black is
   * now missing (to hand to `____rb_erase_color`), or null when nothing is missing.
   */
  #eraseAugmented(node: RbNode<E>): RbNode<E> | null {
    const trace = this.onFixup !== null;
    const child = node.right;
    const left = node.left;
    if (left === null) {
      // case 1: at most one child (here: none or a right one). The child, if any, is red
      // with a black parent (invariants 4, 5), so it takes node's place and colour and no
      // path loses a black. With no child, removing a black leaf shortens its paths.
      if (trace) {
        this.#emit("__rb_erase_augmented", "case 1 - at most one child", false, node);
      }
      const parent = node.parent;
      this.#changeChild(node, child, parent);
      if (child !== null) {
        child.parent = parent;
        child.color = node.color;
        return null;
      }
      return node.color === BLACK ? parent : null;
    }
    if (child === null) {
      // case 1 again, the only child being the left one.
      if (trace) {
        this.#emit("__rb_erase_augmented", "case 1 - at most one child", true, node);
      }
      const parent = node.parent;
      left.parent = parent;
      left.color = node.color;
      this.#changeChild(node, left, parent);
      return null;
    }
    // Two children: the in-order successor takes node's place and colour, and the hole
    // moves to where the successor was (it has no left child).
    let successor = child;
    let parent: RbNode<E>;
    let child2: RbNode<E> | null;
    let tmp = child.left;
    if (tmp === null) {
      // case 2: the successor is node's right child.
      //
      //     (n)          (s)
      //     / \          / \
      //   (x) (s)  ->  (x) (c)
      //         \
      //         (c)
      if (trace) {
        this.#emit("__rb_erase_augmented", "case 2 - successor is the right child", false, node);
      }
      parent = successor;
      child2 = successor.right;
    } else {
      // case 3: the successor is the leftmost node of node's right subtree.
      //
      //     (n)          (s)
      //     / \          / \
      //   (x) (y)  ->  (x) (y)
      //       /            /
      //     (p)          (p)
      //     /            /
      //   (s)          (c)
      //     \
      //     (c)
      if (trace) {
        this.#emit(
          "__rb_erase_augmented",
          "case 3 - successor is leftmost under the right child",
          false,
          node,
        );
      }
      do {
        parent = successor;
        successor = tmp;
        tmp = tmp.left;
      } while (tmp !== null);
      child2 = successor.right;
      parent.left = child2;
      successor.right = child;
      child.parent = successor;
    }
    successor.left = left;
    left.parent = successor;
    const np = node.parent;
    this.#changeChild(node, successor, np);
    const successorColor = successor.color;
    successor.parent = np;
    successor.color = node.color;
    if (child2 !== null) {
      // The successor's lone right child is red: painting it black restores the count.
      child2.parent = parent;
      child2.color = BLACK;
      return null;
    }
    return successorColor === BLACK ? parent : null;
  }

  /**
   * `____rb_erase_color`: paths through `parent`'s child `node` (null on the first pass)
   * are one black short.
   *
   * Loop invariants: `node` is black or null; `node` is not the root (`parent` is set);
   * every path through `parent` and `node` has one black node fewer than the other
   * paths. The sibling therefore exists and has black height at least 1.
   */
  #eraseColor(parent: RbNode<E>): void {
    const trace = this.onFixup !== null;
    const fn = "____rb_erase_color";
    let node: RbNode<E> | null = null;
    for (;;) {
      let sibling = parent.right;
      if (node !== sibling) {
        // node is parent's left child (or the empty left link).
        if (sibling!.color === RED) {
          // Case 1 - left rotate at parent: make the sibling black.
          //
          //     P               S
          //    / \             / \
          //   N   s    -->    p   Sr
          //      / \         / \
          //     Sl  Sr      N   Sl
          if (trace) this.#emit(fn, "Case 1 - left rotate at parent", false, parent);
          const tmp1 = sibling!.left!;
          parent.right = tmp1;
          sibling!.left = parent;
          tmp1.parent = parent;
          tmp1.color = BLACK;
          this.#rotateSetParents(parent, sibling!, RED);
          sibling = tmp1;
        }
        const s = sibling!;
        let tmp1 = s.right;
        if (tmp1 === null || tmp1.color === BLACK) {
          const tmp2 = s.left;
          if (tmp2 === null || tmp2.color === BLACK) {
            // Case 2 - sibling color flip: both nephews black; paint the sibling red so
            // both sides are short, then fix a red parent by painting it black, or move
            // the problem up a level.
            //
            //    (p)           (p)
            //    / \           / \
            //   N   S    -->  N   s
            //      / \           / \
            //     Sl  Sr        Sl  Sr
            if (trace) this.#emit(fn, "Case 2 - sibling color flip", false, parent);
            s.color = RED;
            if (parent.color === RED) {
              parent.color = BLACK;
            } else {
              node = parent;
              const up = node.parent;
              if (up !== null) {
                parent = up;
                continue;
              }
            }
            return;
          }
          // Case 3 - right rotate at sibling: the near nephew is red, the far one black;
          // turn it into Case 4.
          //
          //   (p)           (p)
          //   / \           / \
          //  N   S    -->  N   sl
          //     / \             \
          //    sl  Sr            S
          //                       \
          //                        Sr
          if (trace) this.#emit(fn, "Case 3 - right rotate at sibling", false, parent);
          tmp1 = tmp2.right;
          s.left = tmp1;
          tmp2.right = s;
          parent.right = tmp2;
          if (tmp1 !== null) {
            tmp1.parent = s;
            tmp1.color = BLACK;
          }
          tmp1 = s;
          sibling = tmp2;
        }
        // Case 4 - left rotate at parent + color flips: the far nephew is red.
        //
        //      (p)             (s)
        //      / \             / \
        //     N   S     -->   P   Sr
        //        / \         / \
        //      (sl) sr      N  (sl)
        if (trace) {
          this.#emit(fn, "Case 4 - left rotate at parent + color flips", false, parent);
        }
        const sib = sibling!;
        const tmp2 = sib.left;
        parent.right = tmp2;
        sib.left = parent;
        tmp1!.parent = sib;
        tmp1!.color = BLACK;
        if (tmp2 !== null) tmp2.parent = parent;
        this.#rotateSetParents(parent, sib, BLACK);
        return;
      } else {
        // node is parent's right child: the mirror image.
        sibling = parent.left;
        if (sibling!.color === RED) {
          // Case 1 - right rotate at parent
          if (trace) this.#emit(fn, "Case 1 - right rotate at parent", true, parent);
          const tmp1 = sibling!.right!;
          parent.left = tmp1;
          sibling!.right = parent;
          tmp1.parent = parent;
          tmp1.color = BLACK;
          this.#rotateSetParents(parent, sibling!, RED);
          sibling = tmp1;
        }
        const s = sibling!;
        let tmp1 = s.left;
        if (tmp1 === null || tmp1.color === BLACK) {
          const tmp2 = s.right;
          if (tmp2 === null || tmp2.color === BLACK) {
            // Case 2 - sibling color flip
            if (trace) this.#emit(fn, "Case 2 - sibling color flip", true, parent);
            s.color = RED;
            if (parent.color === RED) {
              parent.color = BLACK;
            } else {
              node = parent;
              const up = node.parent;
              if (up !== null) {
                parent = up;
                continue;
              }
            }
            return;
          }
          // Case 3 - left rotate at sibling
          if (trace) this.#emit(fn, "Case 3 - left rotate at sibling", true, parent);
          tmp1 = tmp2.left;
          s.right = tmp1;
          tmp2.left = s;
          parent.left = tmp2;
          if (tmp1 !== null) {
            tmp1.parent = s;
            tmp1.color = BLACK;
          }
          tmp1 = s;
          sibling = tmp2;
        }
        // Case 4 - right rotate at parent + color flips
        if (trace) {
          this.#emit(fn, "Case 4 - right rotate at parent + color flips", true, parent);
        }
        const sib = sibling!;
        const tmp2 = sib.right;
        parent.left = tmp2;
        sib.right = parent;
        tmp1!.parent = sib;
        tmp1!.color = BLACK;
        if (tmp2 !== null) tmp2.parent = parent;
        this.#rotateSetParents(parent, sib, BLACK);
        return;
      }
    }
  }
}

/**
 * Where `node` hangs, from the root by parent pointers: `"root"`, `"root/l"`,
 * `"root/l/r"`, … (no kernel analogue). A node whose parent does not link back to it
 * shows `?` for that step; an erased node is `"(erased)"`.
 *
 * @example
 * ```ts
 * import { positionPath, RbTree } from "./rbtree.ts";
 * const t = new RbTree<number>((a, b) => a < b);
 * t.insert(2);
 * const one = t.insert(1);
 * positionPath(one); // "root/l"
 * ```
 */
export function positionPath<E>(node: RbNode<E>): string {
  if (node.parent === node) return "(erased)";
  const steps: string[] = [];
  const seen = new Set<RbNode<E>>();
  let n = node;
  while (n.parent !== null && !seen.has(n)) {
    seen.add(n);
    const p: RbNode<E> = n.parent;
    steps.push(p.left === n ? "l" : p.right === n ? "r" : "?");
    n = p;
  }
  steps.push("root");
  return steps.reverse().join("/");
}

/**
 * The tree in the reference-vector format (`tests/fixtures/rbtree.json`): preorder
 * `key:R` / `key:B`, children in parentheses `(left,right)`, `-` for an empty child, a leaf
 * without parentheses, `-` for the empty tree. Renderer-neutral: no colours, no layout.
 *
 * @example
 * ```ts
 * import { RbTree, shape } from "./rbtree.ts";
 * const t = new RbTree<number>((a, b) => a < b);
 * for (const k of [2, 1, 3, 4]) t.insert(k);
 * shape(t, String); // "2:B(1:B,3:B(-,4:R))"
 * ```
 */
export function shape<E>(tree: RbTree<E>, key: (e: E) => string): string {
  const walk = (n: RbNode<E> | null): string => {
    if (n === null) return "-";
    const self = key(n.entry) + (n.color === RED ? ":R" : ":B");
    if (n.left === null && n.right === null) return self;
    return `${self}(${walk(n.left)},${walk(n.right)})`;
  };
  return walk(tree.root);
}

/**
 * Default entry name: the entry's JSON, else `String()` (bigint, cycles). Generic on
 * purpose: the tree knows nothing of its entries, so callers that want better names
 * (swiotlb-xen: `intervalKey` in lib/swiotlb_xen/tree.ts) pass their own `key`.
 */
function defaultKey(e: unknown): string {
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
