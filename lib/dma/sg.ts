/**
 * Scatterlist helpers shared by every mode's DMA ops (SPEC §7): both swiotlb-xen and
 * the native path unmap and sync a list element by element, and fail a map_sg the same
 * way.
 *
 * @module
 */

import type { Direction } from "../direction.ts";
import type { EventLog } from "../events.ts";
import type { Device } from "./device.ts";
import type { DmaOps, SgElement, SyncTarget } from "./ops.ts";

/**
 * The list a failed map_sg leaves behind: the already-mapped prefix was unmapped by the
 * caller, element 0's dma_length is 0 (the kernel's "this list is not mapped" mark),
 * and later elements keep whatever dma fields they had.
 */
export function failedSgList(
  elems: { phys: number; length: number }[],
  mapped: SgElement[],
): SgElement[] {
  return elems.map((e, k) => ({
    phys: e.phys,
    length: e.length,
    dmaAddress: k < mapped.length ? mapped[k].dmaAddress : 0,
    dmaLength: k === 0 ? 0 : (k < mapped.length ? mapped[k].dmaLength : 0),
    bounced: false,
    slot: null,
    route: null,
  }));
}

/** unmap_sg: unmap_page of every element's dma address and length; bytes copied. */
export function unmapSgList(
  ops: DmaOps,
  dev: Device,
  elems: SgElement[],
  dir: Direction,
): number {
  let copied = 0;
  for (const e of elems) copied += ops.unmapPage(dev, e.dmaAddress, e.dmaLength, dir);
  return copied;
}

/** sync_sg_for_cpu / _for_device: sync_single of every element; bytes copied. */
export function syncSgList(
  ops: DmaOps,
  dev: Device,
  elems: SgElement[],
  dir: Direction,
  target: SyncTarget,
): number {
  let copied = 0;
  for (const e of elems) copied += ops.syncSingle(dev, e.dmaAddress, e.dmaLength, dir, target);
  return copied;
}

/**
 * A failed map_sg unmaps its mapped prefix with the map's direction, so for FROM_DEVICE
 * and BIDIRECTIONAL 3.11 copies the prefix's bounce slots — which no device has written
 * yet — back over the driver's buffers. Kernel behaviour, kept under both policies;
 * faithful records it as undefined behaviour. Returns the stale bytes copied.
 */
export function undoSgPrefix(
  ops: DmaOps,
  dev: Device,
  mapped: SgElement[],
  dir: Direction,
  faithful: { events: EventLog } | null,
): number {
  const stale = unmapSgList(ops, dev, mapped, dir);
  if (stale > 0 && faithful !== null) {
    faithful.events.ub(
      "dma",
      `dma_map_sg(${dev.name}) failed: unmapping its ${mapped.length} mapped element(s) copied ${stale} stale bounce bytes back into the driver's buffers`,
    );
  }
  return stale;
}
