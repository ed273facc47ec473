/**
 * A driver's DMA API call written out as the kernel would (SPEC §8), from the values the
 * debug layer keeps: `dma_map_single(nic, 0x1000, 8192, DMA_TO_DEVICE)`. The layer
 * records the function and its arguments on every call and formats them here only for a
 * report or a view, so a map or unmap with debugging on builds no string.
 *
 * @module
 */

import { type Addr, formatHex } from "../addr.ts";
import { type Direction, directionName } from "../direction.ts";
import type { DebugEntry, DebugMapping, DmaApiFn } from "./debug_types.ts";

/** What a call is written from: a live record, or what an unmap or sync passed. */
export interface CallSite {
  fn: DmaApiFn;
  device: string;
  /** The CPU address a map was given (dma_map_single / dma_map_page). */
  phys?: number;
  /** The dma handle an unmap, free or sync was given. */
  bus: Addr;
  size: number;
  dir: Direction;
  /** nents, for the sg calls. */
  sgCount?: number;
}

/**
 * The call's text.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DMA_TO_DEVICE } from "../direction.ts";
 * import { type CallSite, callText } from "./debug_calls.ts";
 * const at: Omit<CallSite, "fn"> = { device: "nic", phys: 0x1000, bus: 0x9000, size: 8192, dir: DMA_TO_DEVICE };
 * assertEquals(callText({ ...at, fn: "dma_map_single" }), "dma_map_single(nic, 0x1000, 8192, DMA_TO_DEVICE)");
 * assertEquals(callText({ ...at, fn: "dma_unmap_single" }), "dma_unmap_single(nic, 0x9000, 8192, DMA_TO_DEVICE)");
 * assertEquals(callText({ ...at, fn: "dma_map_sg", sgCount: 3 }), "dma_map_sg(nic, sg[3], DMA_TO_DEVICE)");
 * assertEquals(callText({ ...at, fn: "dma_free_coherent" }), "dma_free_coherent(nic, 0x9000, 8192)");
 * ```
 */
export function callText(c: CallSite): string {
  switch (c.fn) {
    case "dma_map_sg":
    case "dma_unmap_sg":
    case "dma_sync_sg_for_cpu":
    case "dma_sync_sg_for_device":
      return `${c.fn}(${c.device}, sg[${c.sgCount ?? 0}], ${directionName(c.dir)})`;
    case "dma_alloc_coherent":
      return `${c.fn}(${c.device}, ${c.size})`;
    case "dma_free_coherent":
      return `${c.fn}(${c.device}, ${formatHex(c.bus)}, ${c.size})`;
    case "dma_map_single":
    case "dma_map_page":
      return `${c.fn}(${c.device}, ${formatHex(c.phys ?? 0)}, ${c.size}, ${directionName(c.dir)})`;
    default:
      return `${c.fn}(${c.device}, ${formatHex(c.bus)}, ${c.size}, ${directionName(c.dir)})`;
  }
}

/** A live record as `debug` shows it: its call written out. */
export function mappingView(e: DebugEntry): DebugMapping {
  const { fn: _fn, ...rest } = e;
  return { ...rest, call: callText(e) };
}
