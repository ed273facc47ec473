/**
 * `rb_erase` of Linux 3.11: `__rb_erase_augmented` (unlink, from
 * `include/linux/rbtree_augmented.h`, without augmentation) and `____rb_erase_color`
 * (the fix-up, `lib/rbtree.c`).
 *
 * @module
 */

import type { RbEraseColorStep, RbEraseStep, RbNode, RbTree } from "../rbtree.ts";
import { BLACK, rbChangeChild, rbEmit, rbRotateSetParents, RED } from "./_helpers.ts";

/**
 * `__rb_erase_augmented` (without augmentation): unlink `node`, replacing it by its
 * only child or by its in-order successor. Returns the node below which one black is
 * now missing (to hand to `____rb_erase_color`), or null when nothing is missing.
 */
export function rbEraseAugmented<E>(node: RbNode<E>, tree: RbTree<E>): RbNode<E> | null {
  const trace = tree.onFixup !== null;
  const child = node.right;
  const left = node.left;
  if (left === null) {
    // Case 1: node to erase has no more than 1 child (easy!). Here: none or a right one.
    // The child, if any, is red with a black parent (invariants 4, 5), so it takes node's
    // place and colour and no path loses a black. With no child, removing a black leaf
    // shortens its paths.
    const parent = node.parent;
    if (trace) {
      const rebalance = child === null && node.color === BLACK ? parent : null;
      emitErase(tree, 1, false, node, null, child, rebalance);
    }
    rbChangeChild(node, child, parent, tree);
    if (child !== null) {
      child.parent = parent;
      child.color = node.color;
      return null;
    }
    return node.color === BLACK ? parent : null;
  }
  if (child === null) {
    // Still case 1, but this time the child is node->rb_left
    if (trace) emitErase(tree, 1, true, node, null, left, null);
    const parent = node.parent;
    left.parent = parent;
    left.color = node.color;
    rbChangeChild(node, left, parent, tree);
    return null;
  }
  // Two children: the in-order successor takes node's place and colour, and the hole
  // moves to where the successor was (it has no left child).
  let successor = child;
  let parent: RbNode<E>;
  let child2: RbNode<E> | null;
  let tmp = child.left;
  if (tmp === null) {
    // Case 2: node's successor is its right child.
    //
    //     (n)          (s)
    //     / \          / \
    //   (x) (s)  ->  (x) (c)
    //         \
    //         (c)
    parent = successor;
    child2 = successor.right;
    if (trace) {
      const rebalance = child2 === null && successor.color === BLACK ? parent : null;
      emitErase(tree, 2, false, node, successor, child2, rebalance);
    }
  } else {
    // Case 3: node's successor is leftmost under node's right child subtree.
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
    do {
      parent = successor;
      successor = tmp;
      tmp = tmp.left;
    } while (tmp !== null);
    child2 = successor.right;
    if (trace) {
      const rebalance = child2 === null && successor.color === BLACK ? parent : null;
      emitErase(tree, 3, false, node, successor, child2, rebalance);
    }
    parent.left = child2;
    successor.right = child;
    child.parent = successor;
  }
  successor.left = left;
  left.parent = successor;
  const np = node.parent;
  rbChangeChild(node, successor, np, tree);
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
export function rbEraseColor<E>(parent: RbNode<E>, tree: RbTree<E>): void {
  const trace = tree.onFixup !== null;
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
        if (trace) emitColor(tree, 1, false, parent, node, sibling!, null);
        const tmp1 = sibling!.left!;
        parent.right = tmp1;
        sibling!.left = parent;
        tmp1.parent = parent;
        tmp1.color = BLACK;
        rbRotateSetParents(parent, sibling!, tree, RED);
        sibling = tmp1;
      }
      const s = sibling!;
      let tmp1 = s.right;
      if (tmp1 === null || tmp1.color === BLACK) {
        const tmp2 = s.left;
        if (tmp2 === null || tmp2.color === BLACK) {
          // Case 2 - sibling color flip (p could be either color here): both nephews black;
          // paint the sibling red so both sides are short, then fix a red parent by
          // painting it black, or move the problem up a level.
          //
          //    (p)           (p)
          //    / \           / \
          //   N   S    -->  N   s
          //      / \           / \
          //     Sl  Sr        Sl  Sr
          if (trace) emitColor(tree, 2, false, parent, node, s, null);
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
        if (trace) emitColor(tree, 3, false, parent, node, s, tmp2);
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
      const sib = sibling!;
      if (trace) emitColor(tree, 4, false, parent, node, sib, tmp1);
      const tmp2 = sib.left;
      parent.right = tmp2;
      sib.left = parent;
      tmp1!.parent = sib;
      tmp1!.color = BLACK;
      if (tmp2 !== null) tmp2.parent = parent;
      rbRotateSetParents(parent, sib, tree, BLACK);
      return;
    } else {
      // node is parent's right child: the mirror image. Its titles name the mirrored
      // rotations, as later kernels' comments do; 3.11's mirror branch repeats the left-hand
      // titles for Cases 3 and 4 ("right rotate at sibling", "left rotate at parent + color
      // flips") although it rotates the other way.
      sibling = parent.left;
      if (sibling!.color === RED) {
        // Case 1 - right rotate at parent
        if (trace) emitColor(tree, 1, true, parent, node, sibling!, null);
        const tmp1 = sibling!.right!;
        parent.left = tmp1;
        sibling!.right = parent;
        tmp1.parent = parent;
        tmp1.color = BLACK;
        rbRotateSetParents(parent, sibling!, tree, RED);
        sibling = tmp1;
      }
      const s = sibling!;
      let tmp1 = s.left;
      if (tmp1 === null || tmp1.color === BLACK) {
        const tmp2 = s.right;
        if (tmp2 === null || tmp2.color === BLACK) {
          // Case 2 - sibling color flip
          if (trace) emitColor(tree, 2, true, parent, node, s, null);
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
        if (trace) emitColor(tree, 3, true, parent, node, s, tmp2);
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
      const sib = sibling!;
      if (trace) emitColor(tree, 4, true, parent, node, sib, tmp1);
      const tmp2 = sib.right;
      parent.left = tmp2;
      sib.right = parent;
      tmp1!.parent = sib;
      tmp1!.color = BLACK;
      if (tmp2 !== null) tmp2.parent = parent;
      rbRotateSetParents(parent, sib, tree, BLACK);
      return;
    }
  }
}

/** Reports a `__rb_erase_augmented` branch (only when `tree.onFixup` is set). */
function emitErase<E>(
  tree: RbTree<E>,
  kase: RbEraseStep<E>["case"],
  mirror: boolean,
  node: RbNode<E>,
  successor: RbNode<E> | null,
  child: RbNode<E> | null,
  rebalance: RbNode<E> | null,
): void {
  const fn = "__rb_erase_augmented";
  rbEmit(tree, { fn, case: kase, mirror, node, successor, child, rebalance });
}

/** Reports a `____rb_erase_color` branch (only when `tree.onFixup` is set). */
function emitColor<E>(
  tree: RbTree<E>,
  kase: RbEraseColorStep<E>["case"],
  mirror: boolean,
  parent: RbNode<E>,
  node: RbNode<E> | null,
  sibling: RbNode<E>,
  nephew: RbNode<E> | null,
): void {
  rbEmit(tree, { fn: "____rb_erase_color", case: kase, mirror, parent, node, sibling, nephew });
}
