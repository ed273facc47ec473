/**
 * `rb_insert_color` of Linux 3.11's `lib/rbtree.c`: the fix-up after `rb_link_node`.
 *
 * @module
 */

import type { RbInsertStep, RbNode, RbTree } from "../rbtree.ts";
import { BLACK, rbEmit, rbRotateSetParents, RED } from "./_helpers.ts";

/**
 * `rb_insert_color` (the kernel's `__rb_insert`): `node` is red and freshly linked.
 *
 * Loop invariant: `node` is red. If its parent is black (or it is the root, which is
 * then painted black) we are done; otherwise the parent is red, so it is not the root
 * and the grandparent exists and is black.
 */
export function rbInsertColor<E>(node: RbNode<E>, tree: RbTree<E>): void {
  const trace = tree.onFixup !== null;
  let parent = node.parent;
  // rb_link_node has just linked it: report where, before any case.
  if (trace) rbEmit(tree, { fn: "rb_link_node", node, parent });
  for (;;) {
    if (parent === null || parent.color === BLACK) {
      // No case: the loop ends (reported as Case 0).
      if (trace) {
        rbEmit(tree, {
          fn: "rb_insert_color",
          case: 0,
          mirror: false,
          node,
          parent,
          gparent: null,
          uncle: null,
        });
      }
      // The root: painting it black adds one to every path, keeping 5.
      if (parent === null) node.color = BLACK;
      return;
    }
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
        if (trace) emit(tree, 1, false, node, parent, gparent, tmp);
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
        if (trace) emit(tree, 2, false, node, parent, gparent, gparent.right);
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
      if (trace) emit(tree, 3, false, parent.left!, parent, gparent, gparent.right);
      gparent.left = tmp;
      parent.right = gparent;
      if (tmp !== null) {
        tmp.parent = gparent;
        tmp.color = BLACK;
      }
      rbRotateSetParents(gparent, parent, tree, RED);
      return;
    } else {
      // parent is gparent's right child: the mirror image.
      tmp = gparent.left;
      if (tmp !== null && tmp.color === RED) {
        // Case 1 - color flips
        if (trace) emit(tree, 1, true, node, parent, gparent, tmp);
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
        if (trace) emit(tree, 2, true, node, parent, gparent, gparent.left);
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
      if (trace) emit(tree, 3, true, parent.right!, parent, gparent, gparent.left);
      gparent.right = tmp;
      parent.left = gparent;
      if (tmp !== null) {
        tmp.parent = gparent;
        tmp.color = BLACK;
      }
      rbRotateSetParents(gparent, parent, tree, RED);
      return;
    }
  }
}

/** Reports a Case 1–3 branch (only when `tree.onFixup` is set). */
function emit<E>(
  tree: RbTree<E>,
  kase: RbInsertStep<E>["case"],
  mirror: boolean,
  node: RbNode<E>,
  parent: RbNode<E>,
  gparent: RbNode<E>,
  uncle: RbNode<E> | null,
): void {
  rbEmit(tree, { fn: "rb_insert_color", case: kase, mirror, node, parent, gparent, uncle });
}
