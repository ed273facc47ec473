/**
 * The DMA API surface every guest mode implements (SPEC §7): what a driver calls and
 * what it gets back. Results are facts and reason codes, never sentences: a face words
 * them (the REPL in its radix, a test by comparing codes).
 *
 * @module
 */

import { type Addr, IO_TLB_SEGSIZE, type Mask } from "../addr.ts";
import type { Direction } from "../direction.ts";
import { slotsFor, type SwiotlbCore, type SyncTarget } from "../swiotlb/mod.ts";
import type { Device } from "./device.ts";

export type { SyncTarget };

/** Why a mapping bounced or did not (SPEC §7). */
export type MapRoute =
  /** PV: dma_capable, machine-contiguous, not forced: the bus address is used as is. */
  | { code: "fast-path"; bus: number }
  /** No swiotlb-xen: bus = guest-physical, under the device's mask. */
  | { code: "direct"; bus: number; mask: Mask }
  /** The RFC: an autotranslated guest cannot know a page's p2m, so it always bounces. */
  | { code: "autotranslate" }
  /** swiotlb_force. */
  | { code: "force" }
  /** dma_capable is false: the range ends above the device's mask. */
  | { code: "beyond-mask"; bus: Addr; size: number; mask: Mask }
  /** dma_capable is false: the device has no dma_mask at all. */
  | { code: "no-mask"; bus: Addr; size: number }
  /** range_straddles_page_boundary: the next page's frame is not the next machine frame. */
  | { code: "straddles"; phys: number; size: number };

/** Why a mapping failed, or why its handle is not what the driver thinks (SPEC §7). */
export type MapFailure =
  /** swiotlb_full: no free run of `nslots` slots that respects the boundary. */
  | { code: "swiotlb-full"; size: number; nslots: number; probes: number }
  /** More than IO_TLB_SEGSIZE slots: no run is ever that long, the map can never succeed. */
  | { code: "over-segment"; size: number; nslots: number; segmentSlots: number }
  /**
   * The bounce buffer itself is beyond the device's mask: 3.11 unmaps it and returns 0.
   * `caught` says whether the arch's dma_mapping_error recognises that 0; `handedOut`
   * is the handle the caller got (0 under faithful on arm, the error code otherwise).
   */
  | {
    code: "bounce-not-capable";
    bus: Addr;
    size: number;
    mask: Mask | undefined;
    caught: boolean;
    errorCode: Addr;
    handedOut: Addr;
  };

/** What dma_map_page returned and how it got there. */
export interface MapResult {
  /** The dma handle the driver gets (may be the error code). */
  bus: Addr;
  /** Guest-physical address the bus address stands for: the bounce slot, else the buffer. */
  phys: number;
  bounced: boolean;
  /** First bounce slot, its slot count and segment; null (0) when not bounced. */
  slot: number | null;
  nslots: number;
  segment: number | null;
  /** Bytes copied CPU → bounce at map time. */
  copied: number;
  /** True when `bus` is the mapping-error value the driver must catch. */
  error: boolean;
  /** Why it bounced or not. */
  route: MapRoute;
  /** Why it failed (or why the handle is a trap), null when all is well. */
  failure: MapFailure | null;
  /** The bounce slots were given back inside the call (the "not capable" path). */
  released: boolean;
  /**
   * rfc-v1 on a pool that is not 256 KiB aligned: the phys the handle translates back to
   * (xen_bus_to_phys), which is not the bounce slot `phys`; null when it round-trips.
   */
  standsFor: number | null;
  /**
   * The bounce really crosses the device's segment boundary on the bus: the core decided
   * with `assumedBus` (seg[0].dma_addr + slot × 2048), which is not where the segment's bus
   * base lies (the --bus-skew what-if; the seed's "At 0? Not some index?"). Null otherwise.
   */
  crossesBoundary: { mask: Mask; assumedBus: number } | null;
}

/** A map that did not bounce: the device uses `bus` for the buffer at `phys` itself. */
export function notBounced(bus: Addr, phys: number, route: MapRoute): MapResult {
  return {
    bus,
    phys,
    bounced: false,
    slot: null,
    nslots: 0,
    segment: null,
    copied: 0,
    error: false,
    route,
    failure: null,
    released: false,
    standsFor: null,
    crossesBoundary: null,
  };
}

/** A map that failed: no bounce, the arch's error code (or `bus`) handed out, and why. */
export function failedMap(
  bus: Addr,
  phys: number,
  route: MapRoute,
  failure: MapFailure,
): MapResult {
  return { ...notBounced(bus, phys, route), error: true, failure };
}

/**
 * Why swiotlb_tbl_map_single found no slots for `size` bytes: a request over one segment
 * can never succeed; anything else is "swiotlb buffer is full" after `probes` probes.
 */
export function poolFull(size: number, probes: number): MapFailure {
  const nslots = slotsFor(size);
  return nslots > IO_TLB_SEGSIZE
    ? { code: "over-segment", size, nslots, segmentSlots: IO_TLB_SEGSIZE }
    : { code: "swiotlb-full", size, nslots, probes };
}

/** One scatterlist element after dma_map_sg. */
export interface SgElement {
  phys: number;
  length: number;
  /** sg->dma_address and sg->dma_length (0 on element 0 after a failed map_sg). */
  dmaAddress: number;
  dmaLength: number;
  bounced: boolean;
  slot: number | null;
  /** Why this element bounced or not (null after a failed map_sg undid it). */
  route: MapRoute | null;
}

/** What dma_map_sg returned. */
export interface SgResult {
  /** nents on success, else the error code. */
  ret: Addr;
  error: boolean;
  elements: SgElement[];
  /**
   * The element that failed, its failure, how many mapped elements were undone, and the
   * stale bounce bytes that undoing copied back into the driver's buffers.
   */
  failure: { element: number; failure: MapFailure; undone: number; staleCopied: number } | null;
}

/** How a coherent buffer was made reachable (SPEC §7). */
export type CoherentRoute =
  /** Ordinary pages, already under the coherent mask and machine-contiguous. */
  | { code: "under-mask" }
  /** Exchanged with Xen for memory under `bits` address bits; `treeNode`: a node was added. */
  | { code: "exchanged"; bits: number; treeNode: boolean }
  /** Native swiotlb: the pages were beyond the mask, so pool slots were taken. */
  | { code: "pool-slots"; slot: number };

/** A coherent allocation. */
export interface CoherentResult {
  bus: Addr;
  phys: number;
  size: number;
  /** True when memory was exchanged with Xen to make it reachable. */
  exchanged: boolean;
  route: CoherentRoute;
}

/** What dma_free_coherent did. */
export type FreeCoherentHow =
  | "region-destroyed"
  | "region-destroyed-node-erased"
  | "pages-freed"
  | "slots-freed"
  /** 3.11's PV leak: the exchanged low memory is never given back (faithful). */
  | "leaked";

/** The result of dma_free_coherent. */
export interface FreeCoherentResult {
  leaked: boolean;
  /** Bytes of low machine memory that leaked (0 unless `leaked`). */
  leakedBytes: number;
  how: FreeCoherentHow;
}

/** The dma_map_ops of one guest mode. */
export interface DmaOps {
  /** Which mode this is: swiotlb-xen for PV or autotranslated guests, or direct DMA. */
  readonly kind: "swiotlb-xen-pv" | "swiotlb-xen-auto" | "direct";
  /** The bounce pool (swiotlb-xen's, or the native one of direct DMA). */
  readonly core: SwiotlbCore;
  mapPage(dev: Device, phys: number, size: number, dir: Direction): MapResult;
  /** Returns bytes copied bounce → CPU. */
  unmapPage(dev: Device, bus: Addr, size: number, dir: Direction): number;
  /** Returns bytes copied. */
  syncSingle(dev: Device, bus: Addr, size: number, dir: Direction, target: SyncTarget): number;
  mapSg(dev: Device, elems: { phys: number; length: number }[], dir: Direction): SgResult;
  /** Returns bytes copied. */
  unmapSg(dev: Device, elems: SgElement[], dir: Direction): number;
  syncSg(dev: Device, elems: SgElement[], dir: Direction, target: SyncTarget): number;
  allocCoherent(dev: Device, size: number): CoherentResult | undefined;
  freeCoherent(dev: Device, phys: number, bus: Addr, size: number): FreeCoherentResult;
  dmaSupported(dev: Device, mask: Mask): boolean;
  /** phys → bus as the mode translates it (no bounce). */
  physToBus(phys: number): Addr;
  /** bus → phys as the mode translates it. */
  busToPhys(bus: Addr): Addr;
}
