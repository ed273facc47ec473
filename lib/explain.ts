/**
 * The steps `explain on` narrates, as facts: each red-black tree fix-up case the bus→phys
 * tree takes (Linux 3.11's `lib/rbtree.c` case numbers, with the nodes involved) and each
 * step of a map's slot search (SPEC §3). The engine records them in the {@link EventLog}
 * only while `explaining` is on; the REPL names and draws them. Numbers only, no words.
 *
 * @module
 */

/** A bus→phys tree node in a step: its bus interval and its colour at that moment. */
export interface ExplainNode {
  /** Bus address of the first byte: the node's key. */
  dmaAddr: number;
  size: number;
  color: "red" | "black";
}

/** xen_dma_add_entry or the erase of a node starts: which node, and what it stands for. */
export interface TreeOpStep {
  kind: "tree-op";
  op: "insert" | "erase";
  dmaAddr: number;
  physAddr: number;
  size: number;
  /** A pool segment, a coherent buffer, or a node put in by hand (SPEC §6). */
  entry: "segment" | "coherent" | "manual";
  /** The segment index for a segment, else null. */
  segment: number | null;
}

/** `rb_link_node`: the new node is linked red where the descent ended. */
export interface TreeLinkStep {
  kind: "tree-link";
  node: ExplainNode;
  /** The node it hangs below; null when it is the root. */
  parent: ExplainNode | null;
  side: "left" | "right" | null;
  /** Where it hangs before the fix-up: `root/l/r`. */
  path: string;
}

/**
 * A branch of `rb_insert_color`: Cases 1–3 are the kernel's; Case 0 is the loop's end
 * (a null parent: the root, painted black; or a black parent: nothing to fix).
 */
export interface InsertCaseStep {
  kind: "insert-case";
  case: 0 | 1 | 2 | 3;
  /** The parent is the grandparent's right child (the kernel's mirror half). */
  mirror: boolean;
  /** The red node the case is about (Case 3: the outer red child of `parent`). */
  node: ExplainNode;
  parent: ExplainNode | null;
  gparent: ExplainNode | null;
  uncle: ExplainNode | null;
}

/**
 * A structural branch of `__rb_erase_augmented`: 1 at most one child (mirror: the child
 * is the left one), 2 the successor is the right child, 3 the successor is the leftmost
 * node of the right subtree.
 */
export interface EraseCaseStep {
  kind: "erase-case";
  case: 1 | 2 | 3;
  mirror: boolean;
  /** The node being erased. */
  node: ExplainNode;
  /** Cases 2 and 3: the in-order successor that takes its place. */
  successor: ExplainNode | null;
  /** The node that moves up into the hole (Case 1: the only child; 2, 3: the successor's right child). */
  child: ExplainNode | null;
  /** The node below which paths are one black short (`____rb_erase_color` runs from it), or null. */
  rebalance: ExplainNode | null;
}

/**
 * A colour fix-up branch of `____rb_erase_color`: 1 red sibling (rotate at parent), 2
 * sibling colour flip, 3 red near nephew (rotate at sibling), 4 red far nephew (rotate at
 * parent + colour flips); mirrors swap left and right.
 */
export interface EraseColorStep {
  kind: "erase-color";
  case: 1 | 2 | 3 | 4;
  mirror: boolean;
  parent: ExplainNode;
  /** The black-short child, null on the first pass (the erased leaf's empty link). */
  node: ExplainNode | null;
  sibling: ExplainNode;
  /** Case 3: the red near nephew that rotates up; Case 4: the far nephew painted black. */
  nephew: ExplainNode | null;
  /**
   * Case 2's outcome: `parent-black` (the parent was red: painted black, done), `climb`
   * (the parent was black: go on one level up), `root` (the parent is the root: done);
   * null for the other cases.
   */
  then: "parent-black" | "climb" | "root" | null;
}

/** One step of the bus→phys tree's fix-up. */
export type TreeStep = TreeOpStep | TreeLinkStep | InsertCaseStep | EraseCaseStep | EraseColorStep;

/**
 * A slot search starts (SPEC §3 steps 2–3): at `index = align_up(hint, stride)`, 0 if
 * that is at or past `nslabs`; the search fails when it comes back there.
 */
export interface SlotStartStep {
  kind: "slot-start";
  size: number;
  nslots: number;
  /** 2 when size > 4096, else 1. */
  stride: number;
  /** io_tlb_index when the search starts. */
  hint: number;
  /** The first index tried (and where the search gives up). */
  index: number;
  nslabs: number;
  /** The table's bus base inside the boundary mask, in slots (`offset_slots`). */
  offsetSlots: number;
  /** Slots between segment boundaries (`max_slots`); null when no index can cross one. */
  maxSlots: number | null;
}

/** An index tried whose free run is too short: `list[index] = free < nslots`. */
export interface SlotShortStep {
  kind: "slot-short";
  index: number;
  free: number;
}

/** A run of further too-short indices, summarised: `first`, `first + stride`, …, `last`. */
export interface SlotShortRunStep {
  kind: "slot-short-run";
  first: number;
  last: number;
  count: number;
}

/** Indices `first`..`last` (by stride) skipped: a mapping there would cross a boundary. */
export interface SlotBoundaryStep {
  kind: "slot-boundary";
  first: number;
  last: number;
  count: number;
}

/** The index ran past the pool after `after`: the search goes on at 0. */
export interface SlotWrapStep {
  kind: "slot-wrap";
  after: number;
}

/** Past the step budget, the misses and skips are only counted (bounded output). */
export interface SlotElidedStep {
  kind: "slot-elided";
  short: number;
  boundary: number;
}

/** The run at `index` is long enough: the slots are taken, the hint moves on. */
export interface SlotTakenStep {
  kind: "slot-taken";
  index: number;
  /** `list[index]` before the map. */
  free: number;
  nslots: number;
  probes: number;
  boundarySkips: number;
  /** io_tlb_index after the map. */
  hint: number;
}

/** Back at the start index: SWIOTLB_MAP_ERROR ("swiotlb buffer is full"). */
export interface SlotFullStep {
  kind: "slot-full";
  index: number;
  probes: number;
  boundarySkips: number;
}

/** One step of a slot search. */
export type SlotStep =
  | SlotStartStep
  | SlotShortStep
  | SlotShortRunStep
  | SlotBoundaryStep
  | SlotWrapStep
  | SlotElidedStep
  | SlotTakenStep
  | SlotFullStep;

/** Anything `explain on` narrates. */
export type ExplainStep = TreeStep | SlotStep;
