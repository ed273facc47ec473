/**
 * The swiotlb core's constants and shapes (SPEC §3): the error value, the default
 * boundary, the policies, its arguments, counters and outcomes, and the slot count of a
 * size.
 *
 * @module
 */

import { ALL_ONES, IO_TLB_SHIFT, IO_TLB_SIZE, type Mask } from "../addr.ts";
import type { Direction } from "../direction.ts";
import type { EventLog } from "../events.ts";
import type { PhysMemory } from "../memory.ts";

/** SWIOTLB_MAP_ERROR: `(phys_addr_t)~0`, the all-ones sentinel. */
export const MAP_ERROR = ALL_ONES;

/** The default segment boundary mask of a device (SPEC §2). */
export const DEFAULT_SEG_BOUNDARY = 0xffffffff;

/** How invalid calls are treated (SPEC §3). */
export type Policy = "checked" | "faithful";

/** Whom a sync is for: SYNC_FOR_CPU or SYNC_FOR_DEVICE. */
export type SyncTarget = "cpu" | "device";

/** Options of {@link SwiotlbCore}. */
export interface SwiotlbCoreOptions {
  /** io_tlb_nslabs: number of 2 KiB slots. */
  nslabs: number;
  /** io_tlb_start: guest-physical address of slot 0 (page aligned). */
  start: number;
  /** Where bounce copies go; without one no bytes move (SPEC §11). */
  memory?: PhysMemory;
  /** Default "checked". */
  policy?: Policy;
  /** Where trace lines and undefined-behaviour events go. */
  events?: EventLog;
  /**
   * How io_tlb_list is kept: "bitmap" (default) derives it from a used-slot bitmap until
   * the first undefined behaviour, "eager" writes every counter on every call as the
   * kernel does. Both give the same slots, counters, probes and events.
   */
  counters?: "bitmap" | "eager";
}

/** Arguments of {@link SwiotlbCore.mapSingle}. */
export interface MapSingleArgs {
  /** The table's bus base as the caller believes it (start_dma_addr / seg[0].dma_addr). */
  tblDmaAddr: number;
  /** Guest-physical address of the original buffer. */
  orig: number;
  size: number;
  dir: Direction;
  /** dma_get_seg_boundary(dev): a mask of the form 2^n - 1; default 0xffffffff. */
  segBoundary?: Mask;
  /**
   * swiotlb_alloc_coherent's use: `orig` is a placeholder (0) whose bytes are never
   * bounced, so it need not be memory.
   */
  placeholder?: boolean;
}

/** Counters of the core (SPEC §9 `stats`). */
export interface SwiotlbStats {
  maps: number;
  unmaps: number;
  syncs: number;
  /** Maps that found no room ("swiotlb buffer is full"). */
  failedMaps: number;
  /** Slots currently allocated. */
  slotsUsed: number;
  /** Highest slotsUsed ever seen. */
  highWater: number;
  /** Bytes copied original → bounce. */
  bytesToDevice: number;
  /** Bytes copied bounce → original. */
  bytesFromDevice: number;
  /** Undefined-behaviour events performed under the faithful policy. */
  ubEvents: number;
}

/** The last successful or failed search, for `trace` and the REPL's answer. */
export interface MapOutcome {
  /** Slot index chosen, or -1 on failure. */
  index: number;
  nslots: number;
  stride: number;
  /** Slot indexes examined before the answer (including skipped ones). */
  probes: number;
  /** Indexes skipped because the run would cross the boundary mask. */
  boundarySkips: number;
}

/** One live mapping as the core knows it (for checks and inspection). */
export interface LiveMapping {
  index: number;
  nslots: number;
  size: number;
}

/** Slot count of a size: ALIGN(size, 2048) >> IO_TLB_SHIFT. */
export function slotsFor(size: number): number {
  // A whole size below 2^31 rounds up with integer ops (a hot path: every map and unmap);
  // anything else (fractions, huge or bad sizes) takes the exact float form.
  return size > 0 && size <= 0x7fff_f800 && (size | 0) === size
    ? (size + (IO_TLB_SIZE - 1)) >>> IO_TLB_SHIFT
    : Math.ceil(size / IO_TLB_SIZE);
}
