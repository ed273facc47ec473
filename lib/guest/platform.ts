/**
 * The guest's side of the DMA seam: lib/xen's domain and hypercalls adapted to the
 * XenPlatform interface that both DMA ops see (lib/dma/platform.ts).
 *
 * @module
 */

import { PAGE_SIZE } from "../addr.ts";
import type { XenPlatform } from "../dma/platform.ts";
import {
  createContiguousRegion,
  destroyContiguousRegion,
  type Domain,
  type Xen,
} from "../xen/mod.ts";

/** The seam lib/dma and lib/swiotlb_xen see, adapted from lib/xen (SPEC §4, §5). */
export function guestPlatform(xen: Xen, dom: Domain): XenPlatform {
  return {
    arch: dom.arch,
    autotranslate: dom.autotranslate,
    memory: dom,
    physToMachine: (p) => dom.physToMachine(p),
    machineToPhys: (m) => dom.machineToPhys(m),
    isMachineContiguous: (p, s) => dom.isMachineContiguous(p, s),
    allocPages: (bytes, align) => {
      try {
        return dom.allocPhys(bytes, align ?? PAGE_SIZE);
      } catch {
        return undefined;
      }
    },
    // Freed pages are reused by the next allocation that fits (SPEC §5 step 4).
    freePages: (p, bytes) => dom.freePhys(p, bytes),
    createContiguousRegion: (p, order, bits, skew) =>
      createContiguousRegion(xen, dom, p, order, bits, skew),
    destroyContiguousRegion: (p, order) => {
      destroyContiguousRegion(xen, dom, p, order);
    },
  };
}
