/**
 * The seam both DMA ops see: what swiotlb-xen and direct DMA need from the (modelled)
 * Xen guest they run in — guest memory, the p2m/m2p for PV translation, the guest's page
 * allocator and the arch helpers that make a region machine-contiguous (SPEC §4, §5).
 * lib/guest adapts lib/xen to it; lib/dma and lib/swiotlb_xen only see this interface.
 *
 * @module
 */

import type { Arch } from "./device.ts";
import type { PhysMemory } from "../memory.ts";

/** Result of xen_create_contiguous_region. */
export type ContigResult =
  | {
    ok: true; /** Bus address of the region; absent when the helper wrote none. */
    dmaHandle?: number;
  }
  | { ok: false; reason: string; injected?: boolean };

/** The guest as swiotlb-xen sees it. */
export interface XenPlatform {
  readonly arch: Arch;
  /** XENFEAT_auto_translated_physmap. */
  readonly autotranslate: boolean;
  /** Guest-physical memory (CPU view). */
  readonly memory: PhysMemory;
  /** PV: machine address of a guest-physical address (phys_to_machine). */
  physToMachine(phys: number): number;
  /** PV: guest-physical address of a machine address when the frame is this guest's. */
  machineToPhys(maddr: number): number | undefined;
  /** The negation of range_straddles_page_boundary: every crossed page boundary is machine-contiguous. */
  isMachineContiguous(phys: number, size: number): boolean;
  /** Page allocator: whole pages aligned to `align` (default a page); undefined when out of memory. */
  allocPages(bytes: number, align?: number): number | undefined;
  /** Gives pages back to the guest allocator. */
  freePages(phys: number, bytes: number): void;
  /** xen_create_contiguous_region(pstart, order, address_bits). */
  /** `skewBytes`: the lab's --bus-skew what-if (a region not aligned to its size). */
  createContiguousRegion(
    pstart: number,
    order: number,
    addressBits: number,
    skewBytes?: number,
  ): ContigResult;
  /** xen_destroy_contiguous_region(pstart, order). */
  destroyContiguousRegion(pstart: number, order: number): void;
}
