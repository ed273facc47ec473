/**
 * The DMA ops of a guest that does not use swiotlb-xen (SPEC §5 "When swiotlb-xen is
 * used"): bus = guest-physical, with Linux's native swiotlb as the bounce pool for
 * buffers beyond the device mask. This is the autotranslate + IOMMU case (the RFC
 * author's answer in the seed) and a PV domU without swiotlb_force or passthrough,
 * where bus = guest-physical is simply wrong — which is why such a guest needs swiotlb-xen.
 *
 * @module
 */

import { type Addr, getOrder, type Mask, orderBytes, segmentOf } from "../addr.ts";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
} from "../direction.ts";
import { LabError } from "../errors.ts";
import { MAP_ERROR, slotsFor, SwiotlbCore, type SyncTarget } from "../swiotlb/mod.ts";
import { type Device, dmaCapable, dmaErrorCode } from "./device.ts";
import type {
  CoherentResult,
  DmaOps,
  FreeCoherentResult,
  MapFailure,
  MapResult,
  MapRoute,
  SgElement,
  SgResult,
} from "./ops.ts";
import { failedMap, notBounced, poolFull } from "./ops.ts";
import type { XenPlatform } from "./platform.ts";
import { failedSgList, syncSgList, undoSgPrefix, unmapSgList } from "./sg.ts";

/** Native swiotlb_map_page & co. with phys_to_dma = identity. */
export class DirectDma implements DmaOps {
  readonly kind = "direct" as const;
  readonly core: SwiotlbCore;
  readonly #platform: XenPlatform;
  readonly #force: boolean;
  readonly #coherentBounce = new Map<Addr, number>();

  constructor(platform: XenPlatform, core: SwiotlbCore, opts: { force: boolean }) {
    this.#platform = platform;
    this.core = core;
    this.#force = opts.force;
  }

  physToBus(phys: number): Addr {
    return phys;
  }

  busToPhys(bus: Addr): Addr {
    return bus;
  }

  /** swiotlb_map_page with phys_to_dma = identity; a full pool is swiotlb_full's case. */
  mapPage(dev: Device, phys: number, size: number, dir: Direction): MapResult {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: swiotlb_map_page with DMA_NONE", "bug", "kernel-bug");
    }
    const arch = this.#platform.arch;
    const result = (route: MapRoute): MapResult => notBounced(phys, phys, route);
    if (dmaCapable(arch, dev, phys, size) && !this.#force) {
      return result({ code: "direct", bus: phys, mask: dev.dmaMask as Mask });
    }
    const route: MapRoute = this.#force
      ? { code: "force" }
      : dev.dmaMask === undefined
      ? { code: "no-mask", bus: phys, size }
      : { code: "beyond-mask", bus: phys, size, mask: dev.dmaMask };
    const map = this.core.mapSingle({
      tblDmaAddr: this.core.start,
      orig: phys,
      size,
      dir,
      segBoundary: dev.segBoundary,
    });
    const fail = (failure: MapFailure) => failedMap(dmaErrorCode(arch), phys, route, failure);
    if (map === MAP_ERROR) return fail(poolFull(size, this.core.lastMap.probes));
    if (!dmaCapable(arch, dev, map, size)) {
      this.core.unmapSingle(map, size, dir);
      return {
        ...fail({
          code: "bounce-not-capable",
          bus: map,
          size,
          mask: dev.dmaMask,
          caught: true,
          errorCode: dmaErrorCode(arch),
          handedOut: dmaErrorCode(arch),
        }),
        released: true,
      };
    }
    const slot = this.core.slotIndex(map);
    return {
      ...result(route),
      bus: map,
      phys: map,
      bounced: true,
      slot,
      nslots: slotsFor(size),
      segment: segmentOf(map - this.core.start),
      copied: dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL ? size : 0,
    };
  }

  unmapPage(_dev: Device, bus: Addr, size: number, dir: Direction): number {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: unmap_single with DMA_NONE", "bug", "kernel-bug");
    }
    if (this.core.isSwiotlbBuffer(bus)) return this.core.unmapSingle(bus, size, dir);
    return 0;
  }

  syncSingle(_dev: Device, bus: Addr, size: number, dir: Direction, target: SyncTarget): number {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: swiotlb_sync_single with DMA_NONE", "bug", "kernel-bug");
    }
    if (this.core.isSwiotlbBuffer(bus)) return this.core.syncSingle(bus, size, dir, target);
    return 0;
  }

  mapSg(dev: Device, elems: { phys: number; length: number }[], dir: Direction): SgResult {
    const out: SgElement[] = [];
    for (let i = 0; i < elems.length; i++) {
      const r = this.mapPage(dev, elems[i].phys, elems[i].length, dir);
      if (r.error) {
        const faithful = this.core.policy === "faithful" ? this.core : null;
        const staleCopied = undoSgPrefix(this, dev, out, dir, faithful);
        return {
          ret: 0,
          error: true,
          elements: failedSgList(elems, out),
          failure: {
            element: i,
            failure: r.failure as MapFailure,
            undone: out.length,
            staleCopied,
          },
        };
      }
      out.push({
        phys: elems[i].phys,
        length: elems[i].length,
        // A successful map's handle is an address, never the all-ones error value.
        dmaAddress: typeof r.bus === "number" ? r.bus : 0,
        dmaLength: elems[i].length,
        bounced: r.bounced,
        slot: r.slot,
        route: r.route,
      });
    }
    return { ret: elems.length, error: false, elements: out, failure: null };
  }

  unmapSg(dev: Device, elems: SgElement[], dir: Direction): number {
    return unmapSgList(this, dev, elems, dir);
  }

  syncSg(dev: Device, elems: SgElement[], dir: Direction, target: SyncTarget): number {
    return syncSgList(this, dev, elems, dir, target);
  }

  /** swiotlb_alloc_coherent: ordinary pages, or pool slots when they are beyond the mask. */
  allocCoherent(dev: Device, size: number): CoherentResult | undefined {
    const bytes = orderBytes(getOrder(size));
    const phys = this.#platform.allocPages(bytes, bytes);
    if (phys !== undefined && phys + size - 1 <= dev.coherentMask) {
      this.#platform.memory.write(phys, new Uint8Array(size));
      return { bus: phys, phys, size, exchanged: false, route: { code: "under-mask" } };
    }
    if (phys !== undefined) this.#platform.freePages(phys, bytes);
    const map = this.core.mapSingle({
      tblDmaAddr: this.core.start,
      orig: 0,
      size,
      dir: DMA_FROM_DEVICE,
      segBoundary: dev.segBoundary,
      placeholder: true,
    });
    if (map === MAP_ERROR) return undefined;
    if (map + size - 1 > dev.coherentMask) {
      // 3.11 gives the slots back (TO_DEVICE: nothing to copy to the placeholder).
      this.core.unmapSingle(map, size, DMA_TO_DEVICE);
      return undefined;
    }
    this.#platform.memory.write(map, new Uint8Array(size));
    this.#coherentBounce.set(map, size);
    return {
      bus: map,
      phys: map,
      size,
      exchanged: false,
      route: { code: "pool-slots", slot: this.core.slotIndex(map) },
    };
  }

  /** swiotlb_free_coherent. */
  freeCoherent(_dev: Device, phys: number, bus: Addr, size: number): FreeCoherentResult {
    if (this.#coherentBounce.has(bus)) {
      this.#coherentBounce.delete(bus);
      // TO_DEVICE, as 3.11 does: nothing is copied back to the placeholder original.
      this.core.unmapSingle(bus, size, DMA_TO_DEVICE);
      return { leaked: false, leakedBytes: 0, how: "slots-freed" };
    }
    this.#platform.freePages(phys, orderBytes(getOrder(size)));
    return { leaked: false, leakedBytes: 0, how: "pages-freed" };
  }

  dmaSupported(_dev: Device, mask: Mask): boolean {
    return this.core.end - 1 <= mask;
  }
}
