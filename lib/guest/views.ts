/**
 * The named views a guest hands its faces (SPEC §9): every fact a renderer shows —
 * text, JSON or a drawing — so that renderers compute nothing the engine knows and
 * never hold a live Guest.
 *
 * @module
 */

import type { Addr, Mask } from "../addr.ts";
import type { DmaOps } from "../dma/ops.ts";
import type { DebugMapping } from "../dma/debug.ts";
import type { Direction } from "../direction.ts";
import type { LookupRule, PhysLookup, SwiotlbVerdict } from "../swiotlb_xen/translate.ts";
import type { FixupSummary, FixupTry } from "../swiotlb_xen/init.ts";
import type { IntervalStep, XenDmaInfo } from "../swiotlb_xen/tree.ts";
import type { FrameOwnerFact, P2mRun } from "../xen/mod.ts";
import type { GuestConfig } from "./config.ts";

export type { FixupTry, LookupRule, P2mRun, SwiotlbVerdict };

/** Why the guest runs swiotlb-xen or not (SPEC §5 "When swiotlb-xen is used"). */
export type UseReason =
  /** PV dom0 always uses swiotlb-xen. */
  | "pv-dom0"
  /** PV domU with swiotlb_force. */
  | "pv-force"
  /** PV domU with a passed-through device. */
  | "pv-passthrough"
  /** PV domU without either: no swiotlb-xen, bus = guest-physical (wrong on PV). */
  | "pv-domu"
  /** Autotranslated with an IOMMU: no swiotlb-xen (the RFC author's answer). */
  | "auto-iommu"
  /** Autotranslated without an IOMMU: swiotlb-xen with the RFC's array and tree. */
  | "auto-no-iommu";

/** One pass of the init retry loop (SPEC §5 step 4). */
export interface InitAttemptView {
  nslabs: number;
  /** Where the pool was allocated; null when there was no memory for it. */
  poolPhys: number | null;
  failure: "enomem" | "efixup" | null;
  fixup: FixupSummary;
  /** Every xen_create_contiguous_region call of the fixup, in order (the timeline). */
  tries: FixupTry[];
}

/** What init did (SPEC §5). */
export interface InitView {
  swiotlbXen: boolean;
  ok: boolean;
  use: UseReason;
  nslabs: number;
  /** Slots / 128, rounded up: the segment array's length. */
  segments: number;
  poolPhys: number;
  /** Kernel-style messages, in order (`xen:swiotlb_xen: …`). */
  log: string[];
  /** The boot-time path (a failed init panics) or the late one (it returns the error). */
  early: boolean;
  /** panic()'s message when the early path failed: the guest is dead. */
  panic: string | null;
  attempts: InitAttemptView[];
}

/** The guest as `guest new` and `guest show` describe it. */
export interface GuestView {
  config: GuestConfig;
  /** Which DMA ops run, null when swiotlb-xen failed to initialise. */
  ops: DmaOps["kind"] | null;
  domid: number;
  memBytes: number;
  physBase: number;
  physEnd: number;
  firstMfn: number;
  lastMfn: number;
  machineBytes: number;
  init: InitView;
  treeNodes: number;
  treeHeight: number;
  treeValid: boolean;
}

/** A device as the DMA API sees it. */
export interface DeviceView {
  name: string;
  maskBits: number | undefined;
  dmaMask: Mask | undefined;
  coherentMaskBits: number;
  coherentMask: Mask;
  segBoundary: Mask;
  maxSegSize: number;
}

/** A named CPU buffer in guest memory. */
export interface BufferView {
  name: string;
  phys: number;
  size: number;
  firstPfn: number;
  lastPfn: number;
  /** Its frames as machine-contiguous runs. */
  frames: P2mRun[];
}

/** `p2m PFN COUNT`. */
export interface P2mView {
  pfn: number;
  count: number;
  runs: P2mRun[];
}

/** Who holds a machine frame (Xen's m2p and ownership). */
export type FrameOwner = FrameOwnerFact;

/** `m2p MFN`. */
export interface M2pView {
  mfn: number;
  owner: FrameOwner;
  pfn: number | null;
  phys: number | null;
}

/** One row of `segments` (SPEC §9). */
export interface SegmentRow {
  index: number;
  physAddr: number;
  dmaAddr: number;
  size: number;
  slots: number;
  slotsInUse: number;
  /** Bus base aligned to the segment's size (what makes seg[0] as table base right). */
  aligned: boolean;
  /** dma_addr mod 256 KiB: how far the base is off. */
  misalignment: number;
  /**
   * Where xen_phys_to_bus sends the segment's first byte under this guest's variant:
   * `dmaAddr` when right; rfc-v1's masking lands elsewhere when bases are not aligned.
   */
  translatedBus: Addr;
  mfnFirst: number;
  mfnLast: number;
}

/** `segments`: the array, or why there is none. */
export interface SegmentsView {
  rows: SegmentRow[];
  /** Indexes of the rows whose bus base is not aligned to the segment size. */
  misaligned: number[];
  /** Bus bases that more than one segment got (PVH's all-zero handles). */
  sharedBus: { dmaAddr: number; segments: number[] }[];
  /** Segments whose first byte xen_phys_to_bus sends away from their bus base (rfc-v1). */
  mistranslated: number[];
  init: Pick<InitView, "swiotlbXen" | "ok" | "use">;
}

/** The live mapping that holds a run of slots (from the DMA-API debug layer). */
export interface SlotOwner {
  device: string;
  type: DebugMapping["type"];
  dir: Direction;
  bus: Addr;
  call: string;
  /**
   * Set when an unmap that did not match this mapping released it (the call's text):
   * its driver never unmapped it, so whatever now holds its slots is painted over it.
   */
  releasedBy: string | null;
}

/** A run of used or free slots. */
export interface SlotRun {
  start: number;
  count: number;
  used: boolean;
  /** io_tlb_list of the run's first and last slot. */
  counterFirst: number;
  counterLast: number;
  /** Used runs: the (oldest) live mapping the debug layer knows there, if any. */
  owner: SlotOwner | null;
  /** Every live mapping over the run, oldest first; two or more only after a flaw. */
  owners: SlotOwner[];
}

/** Consecutive used slots whose orig_addr steps by one slot. */
export interface OrigRun {
  slot: number;
  count: number;
  orig: number;
  /** The buffer that orig lies in, if any, and the offset inside it. */
  buffer: string | null;
  offset: number;
}

/** One segment of the pool map. */
export interface SegmentUse {
  index: number;
  first: number;
  slots: number;
  used: number;
}

/** `slots [SEGMENT]` (SPEC §9). */
export interface SlotsView {
  nslabs: number;
  /** io_tlb_index. */
  hint: number;
  hintSegment: number;
  /** The segment asked for, or null for the whole pool. */
  segment: number | null;
  /** The first slot shown; `list` holds the counters from there. */
  first: number;
  /** io_tlb_list of the slots shown. */
  list: number[];
  used: number;
  segments: number;
  /** Segments with a used slot (the whole-pool view). */
  busy: SegmentUse[];
  freeSegments: number;
  runs: SlotRun[];
  orig: OrigRun[];
}

/** One tree node as `tree` shows it. */
export interface TreeRow {
  dmaAddr: number;
  physAddr: number;
  size: number;
  kind: XenDmaInfo["kind"];
  /** The segment a "segment" node stands for, else null. */
  segment: number | null;
  color: "red" | "black";
  /** Position from the root: root, root/l, root/l/r, … */
  path: string;
  /** Slots in use in the node's segment (null for other kinds). */
  slotsInUse: number | null;
}

/** A rule the tree breaks (`tree --validate`, SPEC §9). */
export interface TreeProblem {
  /** The rule broken: the rbtree's (order, black root, red-red, …) or the RFC's overlap. */
  rule: string;
  /** Where the node that breaks it hangs ("" when the problem is not one node's). */
  path: string;
  /** That node's interval, or null. */
  node: { dmaAddr: number; physAddr: number; size: number } | null;
  /** The validator's own sentence (kept for `--json`; it names the other node too). */
  message: string;
}

/** `tree`. */
export interface TreeView {
  /** False when the mode has no bus→phys tree at all. */
  present: boolean;
  preorder: TreeRow[];
  inorder: TreeRow[];
  problems: TreeProblem[];
  height: number;
  nodes: number;
  init: Pick<InitView, "swiotlbXen" | "ok" | "use">;
}

/** A tree node compared by a lookup, and the outcome. */
export interface VisitView {
  dmaAddr: number;
  physAddr: number;
  size: number;
  kind: XenDmaInfo["kind"];
  segment: number | null;
  cmp: IntervalStep["cmp"];
  /** Position in the tree (`root/l/r`), as `tree` shows it. */
  path: string;
}

/** `lookup bus ADDR`. */
export interface BusLookupView {
  bus: Addr;
  phys: Addr;
  found: boolean;
  rule: LookupRule;
  segment: number | null;
  /** The offset added to the node's phys_addr (null when not found). */
  offset: number | null;
  /** The node that holds it, if any. */
  node: VisitView | null;
  visited: VisitView[];
  treeHeight: number;
  /** is_xen_swiotlb_buffer(bus), as unmap and sync would ask it (null: no swiotlb-xen). */
  swiotlb: SwiotlbVerdict | null;
  /** The reviewer's `==` instead of `<=` (autotranslate): what that walk would have found. */
  equality: { found: boolean; dmaAddr: number | null } | null;
}

/** `lookup phys ADDR`: the translation and the arithmetic it did (SPEC §6). */
export type PhysLookupView = PhysLookup;

/** `stats` (SPEC §9): every counter, by the name the REPL shows. */
export interface StatsView {
  maps: number;
  bounces: number;
  fast_paths: number;
  map_errors: number;
  sg_maps: number;
  coherent_allocs: number;
  core_maps: number;
  core_unmaps: number;
  syncs: number;
  failed_maps: number;
  bytes_to_device: number;
  bytes_from_device: number;
  slots_used: number;
  slots_high_water: number;
  nslabs: number;
  tree_nodes: number;
  tree_height: number;
  lookups: number;
  lookup_nodes_visited: number;
  iommu_faults: number;
  stray_writes: number;
  ub_events: number;
  leaked_coherent_bytes: number;
}

/**
 * One run of a device access: pages contiguous on the bus and in machine memory, with
 * the same owner.
 */
export interface DmaPieceView {
  bus: number;
  maddr: number;
  len: number;
  /** The run's first machine frame, and how many frames it spans. */
  mfn: number;
  frames: number;
  owner: FrameOwner;
  /** The frame is not this guest's (a stray write without an IOMMU). */
  stray: boolean;
}

/** `dma read` / `dma write`. */
export interface DmaAccessView {
  bus: number;
  len: number;
  pieces: DmaPieceView[];
  /** The bytes the device wrote, or the first of those it read (dmaRead's `keep`). */
  bytes: Uint8Array;
  /** Faithful only: the address was above the device's mask and lost its high bits. */
  truncated: { from: number; to: number; maskBits: number } | null;
}
