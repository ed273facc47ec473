/**
 * The shapes of the DMA-API debug layer (SPEC §8): what it records per mapping
 * (`struct dma_debug_entry`), what a driver's call looks like to it, and its reports.
 *
 * @module
 */

import type { Addr } from "../addr.ts";
import type { Direction } from "../direction.ts";
import type { EventLog } from "../events.ts";
import type { Arch } from "./device.ts";

/** How a mapping was made: dma_map_single, dma_map_page, dma_map_sg, dma_alloc_coherent. */
export type MappingType = "single" | "page" | "sg" | "coherent";

/** What a report is about; `counts` in {@link DebugReportView} has one entry per kind. */
export type DebugKind =
  /** Unmap / free of an address with no live mapping of that device. */
  | "free-unmapped"
  /** Unmap size differs from the map size. */
  | "free-size"
  /** Unmapped with another function than it was mapped with (single/page/sg/coherent). */
  | "free-function"
  /** Unmapped with another direction than it was mapped with. */
  | "free-direction"
  /** dma_unmap_sg with another nents than dma_map_sg was given. */
  | "free-sg-count"
  /** Sync of an address with no live mapping. */
  | "sync-unmapped"
  /** Sync running past the end of the mapping. */
  | "sync-range"
  /** Sync with another direction than the mapping's (a BIDIRECTIONAL mapping accepts any). */
  | "sync-direction"
  /** dma_sync_sg with another nents than dma_map_sg was given. */
  | "sync-sg-count"
  /** Unmap of a single/page mapping whose handle dma_mapping_error never saw. */
  | "map-error-unchecked"
  /** A device was removed with live mappings (one report per removal). */
  | "leak"
  /** One leaked mapping of a removed device (one report per mapping). */
  | "leaked-mapping"
  /** Beyond the kernel: a new bounce mapping shares slots with a live one. */
  | "slot-overlap"
  /** Beyond the kernel: the device could not reach the returned bus address. */
  | "iommu-fault"
  /** Beyond the kernel: the bounce crosses the device's segment boundary on the bus. */
  | "boundary-cross"
  /** Beyond the kernel: a failed map_sg's undo copied stale bounce bytes to the driver. */
  | "stale-copy-back";

/** Every kind, in report order (for stable `counts`). */
export const DEBUG_KINDS: readonly DebugKind[] = [
  "free-unmapped",
  "free-size",
  "free-function",
  "free-direction",
  "free-sg-count",
  "sync-unmapped",
  "sync-range",
  "sync-direction",
  "sync-sg-count",
  "map-error-unchecked",
  "leak",
  "leaked-mapping",
  "slot-overlap",
  "iommu-fault",
  "boundary-cross",
  "stale-copy-back",
];

/**
 * The DMA API function a driver called, by its kernel name. The layer keeps it with the
 * call's values and writes the call out (`dma_map_single(nic, 0x1000, 8192,
 * DMA_TO_DEVICE)`) only when a report or a view shows it: no string on every map.
 */
export type DmaApiFn =
  | "dma_map_single"
  | "dma_map_page"
  | "dma_map_sg"
  | "dma_alloc_coherent"
  | "dma_unmap_single"
  | "dma_unmap_page"
  | "dma_unmap_sg"
  | "dma_free_coherent"
  | "dma_sync_single_for_cpu"
  | "dma_sync_single_for_device"
  | "dma_sync_sg_for_cpu"
  | "dma_sync_sg_for_device";

/** One live record (`struct dma_debug_entry`): the mapping's values and the call that made it. */
export interface DebugEntry {
  /** Sequence number, in the order mappings were made. */
  readonly id: number;
  readonly device: string;
  readonly type: MappingType;
  /** Guest-physical address of the CPU buffer (coherent: the allocation). */
  readonly phys: number;
  /** The dma handle the driver got. */
  readonly bus: Addr;
  readonly size: number;
  /** DMA_BIDIRECTIONAL for coherent memory, as in the kernel. */
  readonly dir: Direction;
  /** sg_call_ents: the nents given to dma_map_sg; 0 for the other types. */
  readonly sgCount: number;
  /**
   * map_err_type: false until dma_mapping_error() has seen the handle, null where the
   * check does not apply (sg, coherent — their failure is not a dma handle).
   */
  mapErrorChecked: boolean | null;
  /** The function that made it; its arguments are the fields above. */
  readonly fn: DmaApiFn;
  /** First swiotlb slot it occupies, or null when it is not in the bounce pool. */
  readonly slot: number | null;
  /** Slots it occupies (0 when not in the pool). */
  readonly nslots: number;
}

/** A live mapping as `debug` shows it: the record, with the call that made it written out. */
export interface DebugMapping extends Omit<DebugEntry, "fn"> {
  /** The call that made it, as the kernel writes it: "dma_map_single(nic, 0x1000, 8192, DMA_TO_DEVICE)". */
  readonly call: string;
}

/** One report. */
export interface DebugReport {
  kind: DebugKind;
  device: string;
  /** The whole line, `DMA-API: <device>: …`. */
  message: string;
  /** The call that triggered it. */
  call: string;
}

/** What `debug` (no arguments) shows: {@link DmaDebug.view}. */
export interface DebugReportView {
  enabled: boolean;
  /** Live mappings, oldest first. */
  live: DebugMapping[];
  /**
   * Mappings that an unmap which did not match them released (faithful goes on where
   * checked refuses), oldest first: their driver has not unmapped them, so it may still
   * use their slots (a double unmap's victim). The last {@link MAX_RELEASED} are kept.
   */
  released: ReleasedMapping[];
  /** Reports kept (the last {@link MAX_KEPT_REPORTS}), oldest first. */
  reports: DebugReport[];
  /** Reports per kind since the guest was built (never reset). */
  counts: Record<DebugKind, number>;
  /** Reports no longer kept in `reports` (counted all the same). */
  dropped: number;
  /**
   * The entry pool (`dma_debug_entries`, debugfs `num_free_entries` and
   * `min_free_entries`): every live record takes one.
   */
  entries: { total: number; free: number; minFree: number };
  /**
   * The pool ran dry and the layer disabled itself (lib/dma-debug.c's global_disable
   * after "debugging out of memory"): it checks and records nothing more, and keeps the
   * records it had, until `debug off` / `debug on` starts it afresh.
   */
  outOfMemory: boolean;
  /**
   * The layer has been on since the guest was built (never switched off, never out of
   * entries), so `live` is every live mapping; false: it holds only those made since.
   */
  seenAll: boolean;
}

/** A mapping released by a mismatching unmap, and that unmap's call. */
export interface ReleasedMapping {
  mapping: DebugMapping;
  by: string;
}

/** How many {@link ReleasedMapping}s the layer keeps. */
export const MAX_RELEASED = 64;

/** The layer's record of what a driver asked for at unmap / sync time. */
export interface DebugRef {
  device: string;
  type: MappingType;
  bus: Addr;
  size: number;
  dir: Direction;
  /** nents of dma_unmap_sg / dma_sync_sg; 0 otherwise. */
  sgCount?: number;
  /** The function called; its arguments are the fields above. */
  fn: DmaApiFn;
}

/** What {@link DmaDebug.debugDmaMapPage} records. */
export interface NewMapping {
  device: string;
  type: MappingType;
  phys: number;
  bus: Addr;
  size: number;
  dir: Direction;
  sgCount?: number;
  /** The function called; its arguments are the fields above (the CPU address, `phys`). */
  fn: DmaApiFn;
  slot: number | null;
  nslots: number;
}

/** Options of {@link DmaDebug}. */
export interface DmaDebugOptions {
  enabled: boolean;
  /** Decides which handles are errors, as the driver's dma_mapping_error() would. */
  arch: Arch;
  events: EventLog;
  /**
   * Would a device access of `size` bytes at `bus` fault? Returns the fault message or
   * undefined. (The guest answers it with its IOMMU, SPEC §4.)
   */
  deviceFault?: (bus: Addr, size: number) => string | undefined;
  /** dev_driver_string and dev_name of a device, for the kernel's message prefix. */
  deviceLabel?: (device: string) => { driver: string; busId: string };
  /**
   * Records the layer can hold (the `dma_debug_entries=` boot option); by default the
   * arch's PREALLOC_DMA_DEBUG_ENTRIES in 3.11: 65,536 on x86, 4,096 on arm.
   */
  entries?: number;
}

/** PREALLOC_DMA_DEBUG_ENTRIES of 3.11 (arch/x86/kernel/pci-dma.c, arch/arm/mm/dma-mapping.c). */
export const PREALLOC_DMA_DEBUG_ENTRIES: Readonly<Record<Arch, number>> = { x86: 65536, arm: 4096 };

/** dma_entry_alloc's line when the pool is empty (pr_err; 3.11 has no pr_fmt in lib/dma-debug.c). */
export const OUT_OF_MEMORY_MESSAGE = "DMA-API: debugging out of memory - disabling";

/** Reports kept for `debug`; counts go on past it. */
export const MAX_KEPT_REPORTS = 1000;
