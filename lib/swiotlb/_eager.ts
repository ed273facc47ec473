/**
 * The io_tlb_list counters kept the kernel's way (SPEC §3): the next-fit search that
 * reads them one index at a time, map's zeroing and left renumbering, and unmap's merge
 * with the free runs right and left — every counter written on every call, trapped
 * accesses included (the faithful policy's out-of-bounds indexes).
 *
 * @module
 */

import { IO_TLB_SEGSIZE } from "../addr.ts";
import type { Traps } from "./_traps.ts";
import type { MapOutcome } from "./types.ts";

/**
 * Map steps 3–4 on io_tlb_list (the arguments as the core computed them in steps 1–3):
 * the first index from the hint (aligned up to the stride,
 * wrapping at nslabs) that does not cross the boundary and whose counter holds `nslots`;
 * -1 when the search comes back to its start. Counts probes and boundary skips into `out`.
 */
export function searchList(
  list: Int32Array,
  nslabs: number,
  hint: number,
  nslots: number,
  stride: number,
  offsetSlots: number,
  maxSlots: number,
  out: MapOutcome,
): number {
  // Probe counts live in locals and land in lastMap once (hot path: no per-probe stores).
  let probes = 0;
  let boundarySkips = 0;
  let index = Math.ceil(hint / stride) * stride;
  if (index >= nslabs) index = 0;
  const wrap = index;
  let found = -1;
  search: do {
    // iommu_is_span_boundary: would [index, index+nslots) cross a multiple of maxSlots?
    while (((offsetSlots + index) % maxSlots) + nslots > maxSlots) {
      boundarySkips++;
      probes++;
      index += stride;
      if (index >= nslabs) index = 0;
      if (index === wrap) break search;
    }
    probes++;
    if (list[index] >= nslots) {
      found = index;
      break;
    }
    index += stride;
    if (index >= nslabs) index = 0;
  } while (index !== wrap);
  out.probes = probes;
  out.boundarySkips = boundarySkips;
  return found;
}

/**
 * Map step 5 on io_tlb_list: zero `[found, end)` and renumber the free run that now ends
 * at `found`. Returns how many of those slots were free (a corrupted list can offer live
 * ones).
 */
export function takeList(list: Int32Array, found: number, end: number): number {
  // A corrupted free list (faithful) can offer a run over live slots: slots_used counts
  // only the slots this map takes from free.
  let taken = 0;
  for (let i = found; i < end; i++) {
    if (list[i] > 0) taken++;
    list[i] = 0;
  }
  // Renumber the free run that now ends at `found`, stopping at a segment's last slot
  // (found >= 0, and (-1 & 127) === 127, so this never leaves the pool).
  let count = 0;
  for (let i = found - 1, segStart = found & ~(IO_TLB_SEGSIZE - 1); i >= segStart; i--) {
    if (list[i] === 0) break;
    list[i] = ++count;
  }
  return taken;
}

/** What an unmap did to the counters. */
export interface Given {
  /** Slots that were in use and are free now. */
  freed: number;
  /** The last counter written (for the trace). */
  count: number;
}

/**
 * Unmap on io_tlb_list: the freed slots count on from the run to their right (same
 * segment), then the free slots to their left are renumbered. Out-of-bounds accesses
 * go through `traps`.
 */
export function giveList(
  list: Int32Array,
  traps: Traps,
  index: number,
  nslots: number,
  out: Given,
): void {
  const nslabs = list.length;
  const last = index + nslots - 1;
  let count: number;
  let freed = 0;
  if (index >= 0 && nslots > 0 && last < nslabs) {
    // Fast path, every access in bounds: the freed slots lie in the pool, and the left
    // walk stops at a segment's last slot (and (-1 & 127) === 127) before leaving it.
    const next = last + 1;
    // The run to the right counts only if it lies in the same segment.
    count = next < (index | (IO_TLB_SEGSIZE - 1)) + 1
      ? (next < nslabs ? list[next] : traps.get(list, nslabs, next))
      : 0;
    for (let i = last; i >= index; i--) {
      if (list[i] === 0) freed++;
      list[i] = ++count;
    }
    for (let i = index - 1, segStart = index & ~(IO_TLB_SEGSIZE - 1); i >= segStart; i--) {
      if (list[i] === 0) break;
      list[i] = ++count;
    }
  } else {
    // Faithful policy with an index outside the pool: every access goes through the
    // trapping accessors.
    const segEnd = (Math.floor(index / IO_TLB_SEGSIZE) + 1) * IO_TLB_SEGSIZE;
    count = index + nslots < segEnd ? traps.get(list, nslabs, index + nslots) : 0;
    // Bounded work for any size: the writes above and below the pool are trapped
    // (counted in one step, each still bumps the kernel's counter); only the part
    // inside the pool is walked. A slot outside was never handed out: it frees nothing.
    let i = last;
    const top = Math.max(index, nslabs);
    if (i >= top) {
      traps.trap(i - top + 1, top, i);
      count += i - top + 1;
      i = top - 1;
    }
    for (; i >= index && i >= 0; i--) {
      if (list[i] === 0) freed++;
      list[i] = ++count;
    }
    if (i >= index) {
      traps.trap(i - index + 1, index, i);
      count += i - index + 1;
    }
    for (
      let i = index - 1;
      (i & (IO_TLB_SEGSIZE - 1)) !== IO_TLB_SEGSIZE - 1 && traps.get(list, nslabs, i);
      i--
    ) {
      traps.set(list, nslabs, i, ++count);
    }
  }
  out.freed = freed;
  out.count = count;
}
