/**
 * The tiny helpers of Linux 3.11's `include/linux/rbtree_augmented.h` and `lib/rbtree.c`
 * statics that keep the pointer surgery in one place, plus the colour constants and the
 * default entry name shared by the tree's modules. Private to lib/rbtree*.
 *
 * @module
 */

import type { Color, RbFixupStep, RbNode, RbTree } from "../rbtree.ts";

/** Red. */
export const RED: Color = "red";
/** Black. */
export const BLACK: Color = "black";

/** Reports one fix-up branch to `tree.onFixup` (no kernel analogue; callers check it is set). */
export function rbEmit<E>(tree: RbTree<E>, step: RbFixupStep<E>): void {
  tree.onFixup!(step);
}

/** `__rb_change_child`: make `parent` (or the root) point at `nw` instead of `old`. */
export function rbChangeChild<E>(
  old: RbNode<E>,
  nw: RbNode<E> | null,
  parent: RbNode<E> | null,
  tree: RbTree<E>,
): void {
  if (parent === null) tree.root = nw;
  else if (parent.left === old) parent.left = nw;
  else parent.right = nw;
}

/**
 * `__rb_rotate_set_parents`: `nw` takes `old`'s place (parent and colour) and becomes
 * `old`'s parent; `old` gets `color`.
 */
export function rbRotateSetParents<E>(
  old: RbNode<E>,
  nw: RbNode<E>,
  tree: RbTree<E>,
  color: Color,
): void {
  const parent = old.parent;
  nw.parent = parent;
  nw.color = old.color;
  old.parent = nw;
  old.color = color;
  rbChangeChild(old, nw, parent, tree);
}

/**
 * Default entry name: the entry's JSON, else `String()` (bigint, cycles). Generic on
 * purpose: the tree knows nothing of its entries, so callers that want better names
 * (swiotlb-xen: `intervalKey` in lib/swiotlb_xen/tree.ts) pass their own `key`.
 */
export function defaultKey(e: unknown): string {
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
