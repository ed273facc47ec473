/**
 * The tree validator behind {@link RbTree.validate} (no kernel analogue; drgn's
 * `validate_rbtree` is the model).
 *
 * @module
 */

import type { RbNode, RbTree } from "../rbtree.ts";
import { BLACK, defaultKey, RED } from "./_helpers.ts";

/**
 * A rule {@link RbTree.validate} checks, as the word it starts each message with:
 *
 * - `order`: the in-order sequence is non-decreasing by `less` (a node in a left subtree
 *   is not greater than the ancestor, one in a right subtree not less);
 * - `black root`: the root is black (invariant 2);
 * - `red-red`: a red node has no red child (invariant 4);
 * - `black height`: both subtrees of a node hold the same number of black nodes on every
 *   path down (invariant 5);
 * - `parent link`: each child's parent pointer is the node that links it, the root's is
 *   null;
 * - `equal keys`: no two entries compare equal (only with {@link ValidateOptions.unique});
 * - `color`: the colour is "red" or "black" (invariant 1), for trees built by hand;
 * - `cycle`: no child link points back at a node already visited, for trees built by hand;
 * - `size`: {@link RbTree.size} equals the number of nodes reachable from the root.
 */
export type RbRule =
  | "order"
  | "black root"
  | "red-red"
  | "black height"
  | "parent link"
  | "equal keys"
  | "color"
  | "cycle"
  | "size";

/**
 * One broken rule, found by {@link RbTree.validate} (or, with `R = "overlap"`, by
 * swiotlb-xen's `intervalOverlaps`).
 */
export interface RbProblem<E, R extends string = RbRule> {
  /** The rule broken. */
  rule: R;
  /**
   * Position path of the node that breaks it (`root`, `root/l/r`, …; see `positionPath`),
   * "" when the problem is not about one node (`size`). Of two nodes it is the one whose
   * own link or place is wrong: the child for `parent link` and `red-red`, the later in
   * order for `equal keys`, the node whose child link points back for `cycle`.
   */
  path: string;
  /** That node's entry, null when `path` is "". */
  node: E | null;
  /**
   * The whole sentence, starting with the rule and naming the node as `<key> at <path>`,
   * e.g. "black root: root node 1 at root is red" (what `tree --validate` prints).
   */
  message: string;
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

/** Checks every invariant of `tree`; see {@link RbTree.validate}. */
export function rbValidate<E>(tree: RbTree<E>, opts: ValidateOptions<E> = {}): RbProblem<E>[] {
  const key = opts.key ?? defaultKey;
  const unique = opts.unique ?? false;
  const less = tree.less;
  const out: RbProblem<E>[] = [];
  const at = (n: RbNode<E>, path: string) => `${key(n.entry)} at ${path}`;
  // The message starts with the rule, so a list of messages alone still says which broke.
  const report = (rule: RbRule, n: RbNode<E> | null, path: string, sentence: string) => {
    out.push({ rule, path, node: n === null ? null : n.entry, message: `${rule}: ${sentence}` });
  };
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
      report("color", n, path, `node ${at(n, path)} has colour ${JSON.stringify(n.color)}`);
    }
    if (lo !== null && less(n.entry, lo.entry)) {
      report(
        "order",
        n,
        path,
        `node ${at(n, path)} is in the right subtree of ${at(lo, loPath)} but less than it`,
      );
    }
    if (hi !== null && less(hi.entry, n.entry)) {
      report(
        "order",
        n,
        path,
        `node ${at(n, path)} is in the left subtree of ${at(hi, hiPath)} but greater than it`,
      );
    }
    const child = (c: RbNode<E> | null, side: "left" | "right"): number => {
      if (c === null) return 0;
      const cPath = path + (side === "left" ? "/l" : "/r");
      if (seen.has(c)) {
        report(
          "cycle",
          n,
          path,
          `node ${at(n, path)} has ${side} child ${key(c.entry)} seen above`,
        );
        return -1;
      }
      if (c.parent !== n) {
        const p = c.parent === null ? "null" : key(c.parent.entry);
        report(
          "parent link",
          c,
          cPath,
          `node ${at(n, path)} has ${side} child ${at(c, cPath)} whose parent pointer is ${p}`,
        );
      }
      if (n.color === RED && c.color === RED) {
        report(
          "red-red",
          c,
          cPath,
          `red node ${at(n, path)} has red ${side} child ${at(c, cPath)}`,
        );
      }
      return side === "left"
        ? visit(c, cPath, lo, loPath, n, path)
        : visit(c, cPath, n, path, hi, hiPath);
    };
    const lh = child(n.left, "left");
    if (unique && prev !== null && !less(prev.entry, n.entry) && !less(n.entry, prev.entry)) {
      report(
        "equal keys",
        n,
        path,
        `node ${at(prev, prevPath)} and node ${at(n, path)} compare equal`,
      );
    }
    prev = n;
    prevPath = path;
    const rh = child(n.right, "right");
    if (lh < 0 || rh < 0) return -1;
    if (lh !== rh) {
      report(
        "black height",
        n,
        path,
        `node ${at(n, path)} has ${lh} black nodes on paths through its left subtree but ` +
          `${rh} through its right`,
      );
      return -1;
    }
    return lh + (n.color === BLACK ? 1 : 0);
  };

  const root = tree.root;
  if (root !== null) {
    if (root.parent !== null) {
      report(
        "parent link",
        root,
        "root",
        `root node ${at(root, "root")} has parent pointer ${key(root.parent.entry)} ` +
          `(must be null)`,
      );
    }
    if (root.color === RED) {
      report("black root", root, "root", `root node ${at(root, "root")} is red`);
    }
    visit(root, "root", null, "", null, "");
  }
  if (seen.size !== tree.size) {
    report("size", null, "", `the tree counts ${tree.size} nodes but ${seen.size} are reachable`);
  }
  return out;
}
