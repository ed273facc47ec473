/**
 * The DMA API surface every guest mode implements (SPEC §7): what a driver calls and
 * what it gets back. Results carry the facts the REPL shows (bounced? which slot?
 * why?) so that renderers compute nothing.
 *
 * @module
 */

import type { Direction } from "../direction.ts";
import type { SyncTarget } from "../swiotlb/mod.ts";
import type { SwiotlbCore } from "../swiotlb/mod.ts";
import type { Device } from "./device.ts";

/** What dma_map_page returned and how it got there. */
export interface MapResult {
  /** The dma handle the driver gets (may be the error code). */
  bus: number;
  /** Guest-physical address the bus address stands for: the bounce slot, else the buffer. */
  phys: number;
  bounced: boolean;
  /** First bounce slot and its segment, null when not bounced. */
  slot: number | null;
  segment: number | null;
  /** Bytes copied CPU → bounce at map time. */
  copied: number;
  /** True when `bus` is the mapping-error value the driver must catch. */
  error: boolean;
  /** One sentence: why it bounced or not, or why it failed, in the kernel's terms. */
  why: string;
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
}

/** What dma_map_sg returned. */
export interface SgResult {
  /** nents on success, else the error code. */
  ret: number;
  error: boolean;
  elements: SgElement[];
  why: string;
}

/** A coherent allocation. */
export interface CoherentResult {
  bus: number;
  phys: number;
  size: number;
  /** True when memory was exchanged with Xen to make it reachable. */
  exchanged: boolean;
  why: string;
}

/** The dma_map_ops of one guest mode. */
export interface DmaOps {
  /** Short name of the mode, e.g. "swiotlb-xen (PV)". */
  readonly name: string;
  /** The bounce pool (swiotlb-xen's, or the native one of direct DMA). */
  readonly core: SwiotlbCore;
  mapPage(dev: Device, phys: number, size: number, dir: Direction): MapResult;
  /** Returns bytes copied bounce → CPU. */
  unmapPage(dev: Device, bus: number, size: number, dir: Direction): number;
  /** Returns bytes copied. */
  syncSingle(dev: Device, bus: number, size: number, dir: Direction, target: SyncTarget): number;
  mapSg(dev: Device, elems: { phys: number; length: number }[], dir: Direction): SgResult;
  /** Returns bytes copied. */
  unmapSg(dev: Device, elems: SgElement[], dir: Direction): number;
  syncSg(dev: Device, elems: SgElement[], dir: Direction, target: SyncTarget): number;
  allocCoherent(dev: Device, size: number): CoherentResult | undefined;
  freeCoherent(
    dev: Device,
    phys: number,
    bus: number,
    size: number,
  ): { leaked: boolean; why: string };
  dmaSupported(dev: Device, mask: number): boolean;
  /** phys → bus as the mode translates it (no bounce). */
  physToBus(phys: number): number;
  /** bus → phys as the mode translates it. */
  busToPhys(bus: number): number;
}
