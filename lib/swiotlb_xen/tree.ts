/**
 * The RFC's bus→phys red-black tree (SPEC §6): `xen_dma_add_entry`,
 * `xen_get_dma_info_from_dma` and erase, over the Linux-exact {@link RbTree}.
 *
 * @module
 */

import { findInterval, type IntervalStep, type RbNode, RbTree } from "../rbtree.ts";

/** struct xen_dma_info: one machine-contiguous region the guest knows the bus address of. */
export interface XenDmaInfo {
  dmaAddr: number;
  physAddr: number;
  size: number;
  /**
   * A pool segment (index into the segment array), a coherent allocation, or an entry
   * put in by hand with `tree insert` (the lab's way to build the overlaps the RFC's
   * insert lets through, SPEC §6).
   */
  kind: "segment" | "coherent" | "manual";
  /** Segment index j for kind "segment". */
  index: number;
}

/** The tree type: ordered by bus address. */
export type BusTree = RbTree<XenDmaInfo>;

/** A new, empty bus→phys tree. */
export function newBusTree(): BusTree {
  return new RbTree<XenDmaInfo>((a, b) => a.dmaAddr < b.dmaAddr);
}

/** %pa: a phys_addr_t printed at full 64-bit width. */
export function pa(x: number): string {
  return "0x" + x.toString(16).padStart(16, "0");
}

/**
 * xen_dma_add_entry: descend by bus address; an entry on the way down whose dma_addr or
 * phys_addr EQUALS the new one's stops the insert with the kernel's warning. Overlapping
 * intervals are not noticed (SPEC §6: the checker must find them).
 */
export function xenDmaAddEntry(
  tree: BusTree,
  entry: XenDmaInfo,
): { node: RbNode<XenDmaInfo> } | { warning: string } {
  let n = tree.root;
  while (n !== null) {
    const e = n.entry;
    if (e.dmaAddr === entry.dmaAddr || e.physAddr === entry.physAddr) {
      return {
        warning: `xen_dma_add_entry: cannot add phys=${pa(entry.physAddr)} -> dma=${
          pa(entry.dmaAddr)
        }: phys=${pa(e.physAddr)} -> dma=${pa(e.dmaAddr)} already exists`,
      };
    }
    n = entry.dmaAddr < e.dmaAddr ? n.left : n.right;
  }
  // No equal key on the path, so RbTree.insert descends exactly the same way.
  return { node: tree.insert(entry) };
}

/** xen_get_dma_info_from_dma: the node whose interval holds `bus`, or null. */
export function xenGetDmaInfoFromDma(
  tree: BusTree,
  bus: number,
  steps?: IntervalStep[],
): XenDmaInfo | null {
  const n = findInterval(tree, bus, steps);
  return n === null ? null : n.entry;
}

/**
 * Every node whose bus interval `[dma_addr, dma_addr + size)` shares a byte with
 * `[dma, dma + size)`, in bus order. xen_dma_add_entry never asks this (SPEC §6); the
 * checked policy does, before an insert.
 */
export function xenDmaOverlaps(tree: BusTree, dma: number, size: number): XenDmaInfo[] {
  const out: XenDmaInfo[] = [];
  for (let n = tree.first(); n !== null; n = tree.next(n)) {
    const e = n.entry;
    if (e.dmaAddr >= dma + size) break;
    if (e.size > 0 && e.dmaAddr + e.size > dma) out.push(e);
  }
  return out;
}

/** Removes the node holding exactly this entry object, if present. */
export function xenDmaRemoveEntry(tree: BusTree, entry: XenDmaInfo): boolean {
  const n = findInterval(tree, entry.dmaAddr);
  // With overlapping intervals the lookup may land elsewhere; fall back to a scan.
  let target: RbNode<XenDmaInfo> | null = n !== null && n.entry === entry ? n : null;
  for (let m = tree.first(); target === null && m !== null; m = tree.next(m)) {
    if (m.entry === entry) target = m;
  }
  if (target === null) return false;
  tree.erase(target);
  return true;
}
