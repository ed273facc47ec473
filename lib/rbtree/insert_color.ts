/**
 * `rb_insert_color` of Linux 3.11's `lib/rbtree.c`: the fix-up after `rb_link_node`.
 *
 * @module
 */

import type { RbNode, RbTree } from "../rbtree.ts";
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
        if (trace) rbEmit(tree, "rb_insert_color", "Case 1 - color flips", false, node);
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
          rbEmit(tree, "rb_insert_color", "Case 2 - left rotate at parent", false, node);
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
      if (trace) rbEmit(tree, "rb_insert_color", "Case 3 - right rotate at gparent", false, node);
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
        if (trace) rbEmit(tree, "rb_insert_color", "Case 1 - color flips", true, node);
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
          rbEmit(tree, "rb_insert_color", "Case 2 - right rotate at parent", true, node);
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
      if (trace) rbEmit(tree, "rb_insert_color", "Case 3 - left rotate at gparent", true, node);
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
