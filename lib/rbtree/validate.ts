/**
 * The tree validator behind {@link RbTree.validate} (no kernel analogue; drgn's
 * `validate_rbtree` is the model).
 *
 * @module
 */

import type { RbNode, RbTree } from "../rbtree.ts";
import { BLACK, defaultKey, RED } from "./_helpers.ts";

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
export function rbValidate<E>(tree: RbTree<E>, opts: ValidateOptions<E> = {}): string[] {
  const key = opts.key ?? defaultKey;
  const unique = opts.unique ?? false;
  const less = tree.less;
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

  const root = tree.root;
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
  if (seen.size !== tree.size) {
    out.push(`size: the tree counts ${tree.size} nodes but ${seen.size} are reachable`);
  }
  return out;
}
