/**
 * Renderer-neutral descriptions of a tree: where a node hangs and the reference-vector
 * shape (no kernel analogue).
 *
 * @module
 */

import type { RbNode, RbTree } from "../rbtree.ts";
import { RED } from "./_helpers.ts";

/**
 * Where `node` hangs, from the root by parent pointers: `"root"`, `"root/l"`,
 * `"root/l/r"`, … (no kernel analogue). A node whose parent does not link back to it
 * shows `?` for that step; an erased node is `"(erased)"`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RbTree } from "../rbtree.ts";
 * import { positionPath } from "./shape.ts";
 * const t = new RbTree<number>((a, b) => a < b);
 * t.insert(2);
 * const one = t.insert(1);
 * assertEquals(positionPath(one), "root/l");
 * t.erase(one);
 * assertEquals(positionPath(one), "(erased)");
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
 * import { assertEquals } from "@std/assert";
 * import { RbTree } from "../rbtree.ts";
 * import { shape } from "./shape.ts";
 * const t = new RbTree<number>((a, b) => a < b);
 * for (const k of [2, 1, 3, 4]) t.insert(k);
 * assertEquals(shape(t, String), "2:B(1:B,3:B(-,4:R))");
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
