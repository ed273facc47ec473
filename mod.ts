/**
 * swiotlb-lab: Linux 3.11's swiotlb and swiotlb-xen (with the 2013 RFC "support
 * autotranslate guests") on a modelled Xen, as a library. Everything the REPL does is
 * a call here (SPEC §11).
 *
 * @module
 */

export * from "./lib/addr.ts";
export {
  AddrPart,
  LabError,
  type LabErrorKind,
  type MessagePart,
  renderParts,
} from "./lib/errors.ts";
export * from "./lib/direction.ts";
export { type EventKind, EventLog, eventText, type LabEvent } from "./lib/events.ts";
export type { PhysMemory } from "./lib/memory.ts";
export * from "./lib/rbtree.ts";
export * from "./lib/swiotlb/mod.ts";
export * from "./lib/dma/device.ts";
export type * from "./lib/dma/ops.ts";
export {
  DmaMapping,
  type MappingCounters,
  type MappingErrorAnswer,
  type SgRef,
} from "./lib/dma/mapping.ts";
export { DirectDma } from "./lib/dma/direct.ts";
export * from "./lib/dma/debug.ts";
export { type InsertEntryResult, XenSwiotlb } from "./lib/swiotlb_xen/engine.ts";
export * from "./lib/swiotlb_xen/translate.ts";
export * from "./lib/swiotlb_xen/init.ts";
export * from "./lib/swiotlb_xen/tree.ts";
export type { ContigResult, XenPlatform } from "./lib/dma/platform.ts";
export * from "./lib/xen/mod.ts";
export * from "./lib/guest/mod.ts";
