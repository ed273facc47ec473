/**
 * The DMA ops of a guest that does not use swiotlb-xen (SPEC §5 "When swiotlb-xen is
 * used"): bus = guest-physical, with Linux's native swiotlb as the bounce pool for
 * buffers beyond the device mask. This is the autotranslate + IOMMU case (the RFC
 * author's answer in the seed) and a PV domU without swiotlb_force or passthrough,
 * where bus = guest-physical is simply wrong — which is why such a guest needs swiotlb-xen.
 *
 * @module
 */

import { formatHex, IO_TLB_SEGSIZE } from "../addr.ts";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
} from "../direction.ts";
import { LabError } from "../errors.ts";
import { MAP_ERROR, SwiotlbCore, type SyncTarget } from "../swiotlb/mod.ts";
import type { XenPlatform } from "./platform.ts";
import { type Device, dmaCapable, dmaErrorCode } from "./device.ts";
import type { CoherentResult, DmaOps, MapResult, SgElement, SgResult } from "./ops.ts";
import { failedSgList, syncSgList, unmapSgList } from "./sg.ts";

/** Native swiotlb_map_page & co. with phys_to_dma = identity. */
export class DirectDma implements DmaOps {
  readonly name: string;
  readonly core: SwiotlbCore;
  readonly #platform: XenPlatform;
  readonly #force: boolean;
  readonly #coherentBounce = new Map<number, number>();

  constructor(platform: XenPlatform, core: SwiotlbCore, opts: { name: string; force: boolean }) {
    this.#platform = platform;
    this.core = core;
    this.name = opts.name;
    this.#force = opts.force;
  }

  physToBus(phys: number): number {
    return phys;
  }

  busToPhys(bus: number): number {
    return bus;
  }

  mapPage(dev: Device, phys: number, size: number, dir: Direction): MapResult {
    if (dir === DMA_NONE) throw new LabError("BUG: swiotlb_map_page with DMA_NONE", "bug");
    const arch = this.#platform.arch;
    if (dmaCapable(arch, dev, phys, size) && !this.#force) {
      return {
        bus: phys,
        phys,
        bounced: false,
        slot: null,
        segment: null,
        copied: 0,
        error: false,
        why: `direct: bus = guest-physical ${formatHex(phys)} is under ${dev.name}'s DMA mask`,
      };
    }
    const why = this.#force
      ? "swiotlb_force"
      : `guest-physical ${formatHex(phys)}+${size} is beyond the DMA mask`;
    const map = this.core.mapSingle({
      tblDmaAddr: this.core.start,
      orig: phys,
      size,
      dir,
      segBoundary: dev.segBoundary,
    });
    const fail = (why: string): MapResult => ({
      bus: dmaErrorCode(arch),
      phys,
      bounced: false,
      slot: null,
      segment: null,
      copied: 0,
      error: true,
      why,
    });
    if (map === MAP_ERROR) return fail(`swiotlb buffer is full (${size} bytes): ${why}`);
    if (!dmaCapable(arch, dev, map, size)) {
      this.core.unmapSingle(map, size, dir);
      return fail(`native bounce buffer ${formatHex(map)} is not DMA-capable for ${dev.name}`);
    }
    const slot = this.core.slotIndex(map);
    return {
      bus: map,
      phys: map,
      bounced: true,
      slot,
      segment: Math.floor(slot / IO_TLB_SEGSIZE),
      copied: dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL ? size : 0,
      error: false,
      why: `native swiotlb: ${why}`,
    };
  }

  unmapPage(_dev: Device, bus: number, size: number, dir: Direction): number {
    if (dir === DMA_NONE) throw new LabError("BUG: unmap_single with DMA_NONE", "bug");
    if (this.core.isSwiotlbBuffer(bus)) return this.core.unmapSingle(bus, size, dir);
    return 0;
  }

  syncSingle(_dev: Device, bus: number, size: number, dir: Direction, target: SyncTarget): number {
    if (dir === DMA_NONE) throw new LabError("BUG: swiotlb_sync_single with DMA_NONE", "bug");
    if (this.core.isSwiotlbBuffer(bus)) return this.core.syncSingle(bus, size, dir, target);
    return 0;
  }

  mapSg(dev: Device, elems: { phys: number; length: number }[], dir: Direction): SgResult {
    const out: SgElement[] = [];
    for (let i = 0; i < elems.length; i++) {
      const r = this.mapPage(dev, elems[i].phys, elems[i].length, dir);
      if (r.error) {
        this.unmapSg(dev, out, dir);
        return {
          ret: 0,
          error: true,
          elements: failedSgList(elems, out),
          why: `element ${i}: ${r.why}`,
        };
      }
      out.push({
        phys: elems[i].phys,
        length: elems[i].length,
        dmaAddress: r.bus,
        dmaLength: elems[i].length,
        bounced: r.bounced,
        slot: r.slot,
      });
    }
    return {
      ret: elems.length,
      error: false,
      elements: out,
      why: `${elems.length} element(s) mapped`,
    };
  }

  unmapSg(dev: Device, elems: SgElement[], dir: Direction): number {
    return unmapSgList(this, dev, elems, dir);
  }

  syncSg(dev: Device, elems: SgElement[], dir: Direction, target: SyncTarget): number {
    return syncSgList(this, dev, elems, dir, target);
  }

  /** swiotlb_alloc_coherent: ordinary pages, or pool slots when they are beyond the mask. */
  allocCoherent(dev: Device, size: number): CoherentResult | undefined {
    let pages = 1;
    while (pages * 4096 < size) pages *= 2;
    const phys = this.#platform.allocPages(pages * 4096, pages * 4096);
    if (phys !== undefined && phys + size - 1 <= dev.coherentMask) {
      this.#platform.memory.write(phys, new Uint8Array(size));
      return { bus: phys, phys, size, exchanged: false, why: "pages under the coherent mask" };
    }
    if (phys !== undefined) this.#platform.freePages(phys, pages * 4096);
    const map = this.core.mapSingle({
      tblDmaAddr: this.core.start,
      orig: 0,
      size,
      dir: DMA_FROM_DEVICE,
      segBoundary: dev.segBoundary,
    });
    if (map === MAP_ERROR || map + size - 1 > dev.coherentMask) return undefined;
    this.#platform.memory.write(map, new Uint8Array(size));
    this.#coherentBounce.set(map, size);
    return { bus: map, phys: map, size, exchanged: false, why: "taken from the swiotlb pool" };
  }

  freeCoherent(
    _dev: Device,
    phys: number,
    bus: number,
    size: number,
  ): { leaked: boolean; why: string } {
    if (this.#coherentBounce.has(bus)) {
      this.#coherentBounce.delete(bus);
      this.core.unmapSingle(bus, size, DMA_BIDIRECTIONAL);
      return { leaked: false, why: "swiotlb slots freed" };
    }
    let pages = 1;
    while (pages * 4096 < size) pages *= 2;
    this.#platform.freePages(phys, pages * 4096);
    return { leaked: false, why: "pages freed" };
  }

  dmaSupported(_dev: Device, mask: number): boolean {
    return this.core.end - 1 <= mask;
  }
}
