/**
 * `explain on` for the bus→phys tree: an insert or erase run with the generic tree's
 * fix-up observer attached, each case it reports recorded as a {@link TreeStep} with the
 * nodes as bus intervals (lib/explain.ts). Only called while the event log is explaining:
 * with it off, the tree runs with no observer and builds no step.
 *
 * @module
 */

import type { EventLog } from "../events.ts";
import type { ExplainNode, TreeStep } from "../explain.ts";
import { positionPath, type RbFixupStep, type RbNode } from "../rbtree.ts";
import type { BusTree, XenDmaInfo } from "./tree.ts";

/** The node as a step shows it: its interval and its colour now. */
function snap(n: RbNode<XenDmaInfo>): ExplainNode {
  return { dmaAddr: n.entry.dmaAddr, size: n.entry.size, color: n.color };
}

function snapOrNull(n: RbNode<XenDmaInfo> | null): ExplainNode | null {
  return n === null ? null : snap(n);
}

/** One generic fix-up step as a tree step (called before the case acts). */
function treeStep(s: RbFixupStep<XenDmaInfo>): TreeStep {
  switch (s.fn) {
    case "rb_link_node":
      return {
        kind: "tree-link",
        node: snap(s.node),
        parent: snapOrNull(s.parent),
        side: s.parent === null ? null : s.parent.left === s.node ? "left" : "right",
        path: positionPath(s.node),
      };
    case "rb_insert_color":
      return {
        kind: "insert-case",
        case: s.case,
        mirror: s.mirror,
        node: snap(s.node),
        parent: snapOrNull(s.parent),
        gparent: snapOrNull(s.gparent),
        uncle: snapOrNull(s.uncle),
      };
    case "__rb_erase_augmented":
      return {
        kind: "erase-case",
        case: s.case,
        mirror: s.mirror,
        node: snap(s.node),
        successor: snapOrNull(s.successor),
        child: snapOrNull(s.child),
        rebalance: snapOrNull(s.rebalance),
      };
    case "____rb_erase_color":
      return {
        kind: "erase-color",
        case: s.case,
        mirror: s.mirror,
        parent: snap(s.parent),
        node: snapOrNull(s.node),
        sibling: snap(s.sibling),
        nephew: snapOrNull(s.nephew),
        // Case 2 paints the sibling red; the parent's colour and place decide what follows.
        then: s.case !== 2
          ? null
          : s.parent.color === "red"
          ? "parent-black"
          : s.parent.parent === null
          ? "root"
          : "climb",
      };
  }
}

/** Runs `op` on `tree` with every fix-up case recorded in `events`. */
function narrated<T>(tree: BusTree, events: EventLog, op: () => T): T {
  const before = tree.onFixup;
  tree.onFixup = (s) => events.explain(treeStep(s));
  try {
    return op();
  } finally {
    tree.onFixup = before;
  }
}

/** The step that opens an insert or erase of `e`. */
function opStep(op: "insert" | "erase", e: XenDmaInfo): TreeStep {
  return {
    kind: "tree-op",
    op,
    dmaAddr: e.dmaAddr,
    physAddr: e.physAddr,
    size: e.size,
    entry: e.kind,
    segment: e.kind === "segment" ? e.index : null,
  };
}

/**
 * `tree.insert(entry)`, narrated: the opening step, the link and each `rb_insert_color`
 * case, in order.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EventLog } from "../events.ts";
 * import { explainInsert } from "./explain.ts";
 * import { newBusTree } from "./tree.ts";
 * const events = new EventLog();
 * events.explaining = true;
 * const t = newBusTree();
 * explainInsert(t, { dmaAddr: 0x40000, physAddr: 0, size: 0x40000, kind: "segment", index: 0 }, events);
 * assertEquals(events.drainExplained().map((s) => s.kind), ["tree-op", "tree-link", "insert-case"]);
 * ```
 */
export function explainInsert(
  tree: BusTree,
  entry: XenDmaInfo,
  events: EventLog,
): RbNode<XenDmaInfo> {
  events.explain(opStep("insert", entry));
  return narrated(tree, events, () => tree.insert(entry));
}

/** `tree.erase(node)`, narrated: the opening step, the structural case, the colour cases. */
export function explainErase(tree: BusTree, node: RbNode<XenDmaInfo>, events: EventLog): void {
  events.explain(opStep("erase", node.entry));
  narrated(tree, events, () => tree.erase(node));
}
