/**
 * swiotlb-xen's dma_map_ops (SPEC §6, §7) for PV and autotranslated guests: the fast
 * path and the bounce path of `xen_swiotlb_map_page`, unmap and sync, scatter-gather,
 * `dma_supported`, and the lab's `tree insert`. Coherent memory is in coherent.ts, the
 * translations in translate.ts. Results are facts and reason codes (lib/dma/ops.ts).
 *
 * Kernel names, once: `xen_swiotlb_map_page` → {@link XenSwiotlb.mapPage},
 * `xen_swiotlb_unmap_page` / `xen_unmap_single` → {@link XenSwiotlb.unmapPage},
 * `xen_swiotlb_sync_single_for_cpu` / `xen_swiotlb_sync_single_for_device` →
 * {@link XenSwiotlb.syncSingle}, `xen_swiotlb_map_sg_attrs` → {@link XenSwiotlb.mapSg},
 * `xen_swiotlb_unmap_sg_attrs` → {@link XenSwiotlb.unmapSg},
 * `xen_swiotlb_sync_sg_for_cpu` / `xen_swiotlb_sync_sg_for_device` →
 * {@link XenSwiotlb.syncSg}, `xen_swiotlb_dma_supported` → {@link XenSwiotlb.dmaSupported}.
 *
 * @module
 */

import { type Addr, crossesBoundary, formatHex, IO_TLB_SIZE, type Mask } from "../addr.ts";
import {
  type Arch,
  type Device,
  dmaCapable,
  dmaErrorCode,
  dmaMappingError,
} from "../dma/device.ts";
import type {
  CoherentResult,
  DmaOps,
  FreeCoherentResult,
  MapFailure,
  MapResult,
  MapRoute,
  SgElement,
  SgResult,
} from "../dma/ops.ts";
import { failedMap, notBounced, poolFull } from "../dma/ops.ts";
import type { XenPlatform } from "../dma/platform.ts";
import { failedSgList, syncSgList, undoSgPrefix, unmapSgList } from "../dma/sg.ts";
import { type Direction, DMA_BIDIRECTIONAL, DMA_NONE, DMA_TO_DEVICE } from "../direction.ts";
import { addr, LabError, msg, renderParts } from "../errors.ts";
import type { EventLog } from "../events.ts";
import { MAP_ERROR, type Policy, slotsFor, SwiotlbCore, type SyncTarget } from "../swiotlb/mod.ts";
import { CoherentAllocator } from "./coherent.ts";
import { insertEntry, type InsertEntryResult } from "./insert.ts";
import type { XenSwiotlbInit } from "./init.ts";
import {
  type BusLookup,
  isXenSwiotlbBuffer,
  lookupBus,
  lookupPhys,
  type PhysLookup,
  pvBusToPhys,
  pvVerdict,
  rfcV1BouncePhys,
  segmentIn,
  type SwiotlbVerdict,
  swiotlbVerdict,
  type Variant,
  xenBusToPhys,
  xenPhysToBus,
  type XenTranslation,
} from "./translate.ts";
import type { BusTree, XenDmaInfo } from "./tree.ts";

export type { BusLookup, LookupRule, PhysLookup, Variant } from "./translate.ts";

/** Options of {@link XenSwiotlb}. */
export interface XenSwiotlbOptions {
  policy: Policy;
  variant: Variant;
  /** swiotlb_force. */
  force: boolean;
  events: EventLog;
}

export type { InsertEntryResult } from "./insert.ts";

/** swiotlb-xen on a Xen guest (PV or autotranslated, SPEC §5–§7). */
export class XenSwiotlb implements DmaOps, XenTranslation {
  readonly kind: "swiotlb-xen-pv" | "swiotlb-xen-auto";
  readonly core: SwiotlbCore;
  readonly seg: XenDmaInfo[];
  readonly tree: BusTree;
  readonly poolPhys: number;
  readonly poolEnd: number;
  readonly arch: Arch;
  readonly autotranslate: boolean;
  readonly variant: Variant;
  readonly force: boolean;
  /** The bus address swiotlb-xen passes to the core as the table base. */
  readonly startDmaAddr: number;
  readonly platform: XenPlatform;
  readonly #events: EventLog;
  /** Where trace lines of the translations go. */
  readonly events: EventLog;
  readonly #coherent: CoherentAllocator;
  /** is_xen_swiotlb_buffer's answer on the bus address {@link #resolve} resolved last. */
  #resolved: Readonly<SwiotlbVerdict>;

  constructor(platform: XenPlatform, init: XenSwiotlbInit, opts: XenSwiotlbOptions) {
    if (!init.ok) {
      throw new LabError("Cannot start swiotlb-xen: its init failed", "failed", "no-dma-ops");
    }
    this.platform = platform;
    this.#events = opts.events;
    this.events = opts.events;
    this.arch = platform.arch;
    this.autotranslate = platform.autotranslate;
    this.kind = this.autotranslate ? "swiotlb-xen-auto" : "swiotlb-xen-pv";
    this.variant = opts.variant;
    this.force = opts.force;
    this.seg = init.seg;
    this.tree = init.tree;
    this.poolPhys = init.poolPhys;
    this.poolEnd = init.poolPhys + init.nslabs * IO_TLB_SIZE;
    this.core = new SwiotlbCore({
      nslabs: init.nslabs,
      start: init.poolPhys,
      memory: platform.memory,
      policy: opts.policy,
      events: opts.events,
    });
    // 3.11: start_dma_addr = xen_virt_to_bus(xen_io_tlb_start); the RFC passes
    // xen_dma_seg[0].dma_addr at every map (SPEC §5 step 5, §7).
    const start = this.autotranslate ? this.seg[0].dmaAddr : xenPhysToBus(this, this.poolPhys);
    this.startDmaAddr = typeof start === "number" ? start : 0;
    this.#coherent = new CoherentAllocator(this, opts.events);
    // Nothing resolved yet: no bounce buffer.
    this.#resolved = pvVerdict(this, undefined);
  }

  get policy(): Policy {
    return this.core.policy;
  }

  /** PV free_coherent leaks counted (faithful). */
  get leakedCoherentBytes(): number {
    return this.#coherent.leakedBytes;
  }

  /** xen_phys_to_bus (SPEC §6). */
  physToBus(phys: number): Addr {
    return xenPhysToBus(this, phys);
  }

  /** xen_bus_to_phys (SPEC §6); the error code when the tree knows no such bus address. */
  busToPhys(bus: Addr): Addr {
    return xenBusToPhys(this, bus);
  }

  /** is_xen_swiotlb_buffer. */
  isXenSwiotlbBuffer(bus: Addr): boolean {
    return isXenSwiotlbBuffer(this, bus);
  }

  /**
   * is_xen_swiotlb_buffer's answer, with why, on the bus address the last unmap or sync
   * that got past its argument checks resolved: what the caller reports next to the
   * bytes copied, without a second m2p look.
   */
  get lastVerdict(): Readonly<SwiotlbVerdict> {
    return this.#resolved;
  }

  /** `lookup phys`: the translation and the arithmetic it took. */
  lookupPhys(phys: number): PhysLookup {
    return lookupPhys(this, phys);
  }

  /** `lookup bus`: the translation and every tree node compared on the way. */
  lookupBus(bus: Addr): BusLookup {
    return lookupBus(this, bus);
  }

  #bounced(map: number, bus: Addr, size: number, dir: Direction, route: MapRoute): MapResult {
    const slot = this.core.slotIndex(map);
    // rfc-v1 masks instead of subtracting: on an unaligned pool the handle stands for
    // another phys than the bounce slot (SPEC §6).
    const back = this.variant === "rfc-v1" ? this.busToPhys(bus) : map;
    return {
      bus,
      phys: map,
      bounced: true,
      slot,
      nslots: slotsFor(size),
      segment: segmentIn(this, map),
      copied: dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL ? size : 0,
      error: false,
      route,
      failure: null,
      released: false,
      standsFor: back !== map && typeof back === "number" ? back : null,
      crossesBoundary: null,
    };
  }

  /** Why this map must bounce (null: the PV fast path applies). */
  #route(dev: Device, phys: number, size: number, devAddr: Addr): MapRoute {
    if (this.autotranslate) return { code: "autotranslate" };
    const capable = dmaCapable(this.arch, dev, devAddr, size);
    const contiguous = this.platform.isMachineContiguous(phys, size);
    if (capable && contiguous && !this.force && typeof devAddr === "number") {
      return { code: "fast-path", bus: devAddr };
    }
    if (this.force) return { code: "force" };
    if (!capable) {
      return dev.dmaMask === undefined
        ? { code: "no-mask", bus: devAddr, size }
        : { code: "beyond-mask", bus: devAddr, size, mask: dev.dmaMask };
    }
    return { code: "straddles", phys, size };
  }

  /** xen_swiotlb_map_page (3.11 + RFC). */
  mapPage(dev: Device, phys: number, size: number, dir: Direction): MapResult {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: xen_swiotlb_map_page with DMA_NONE", "bug", "kernel-bug");
    }
    const devAddr = this.physToBus(phys);
    const route = this.#route(dev, phys, size, devAddr);
    if (route.code === "fast-path") return notBounced(route.bus, phys, route);
    const map = this.core.mapSingle({
      tblDmaAddr: this.startDmaAddr,
      orig: phys,
      size,
      dir,
      segBoundary: dev.segBoundary,
    });
    if (map === MAP_ERROR) {
      return failedMap(
        dmaErrorCode(this.arch),
        phys,
        route,
        poolFull(size, this.core.lastMap.probes),
      );
    }
    const bus = this.physToBus(map);
    if (!dmaCapable(this.arch, dev, bus, size)) {
      return this.#notCapable(dev, map, bus, size, dir, route);
    }
    const r = this.#bounced(map, bus, size, dir, route);
    // The core's boundary test assumed the table is one bus-contiguous run from seg[0]:
    // where a segment's real bus base differs, check the real range too.
    const assumedBus = this.startDmaAddr + (map - this.poolPhys);
    const mask = dev.segBoundary;
    if (typeof bus === "number" && bus !== assumedBus && crossesBoundary(bus, size, mask)) {
      r.crossesBoundary = { mask, assumedBus };
    }
    return r;
  }

  /**
   * The bounce buffer itself is beyond the device's mask: 3.11 unmaps it (bouncing back
   * for FROM_DEVICE / BIDIRECTIONAL) and returns 0 — x86's DMA error code, but not arm's
   * (all-ones), so arm's dma_mapping_error says "no error" and the driver goes on with bus
   * 0 (SPEC §7). faithful hands out that 0 and records the undefined behaviour; checked
   * flags the failure and returns arm's own error code, which dma_mapping_error catches.
   */
  #notCapable(
    dev: Device,
    map: number,
    bus: Addr,
    size: number,
    dir: Direction,
    route: MapRoute,
  ): MapResult {
    const r = this.#bounced(map, bus, size, dir, route);
    this.core.unmapSingle(map, size, dir);
    const errorCode = dmaErrorCode(this.arch);
    const caught = dmaMappingError(this.arch, 0);
    const failure = (handedOut: Addr): MapFailure => ({
      code: "bounce-not-capable",
      bus,
      size,
      mask: dev.dmaMask,
      caught,
      errorCode,
      handedOut,
    });
    if (caught || this.policy === "checked") {
      const handedOut = caught ? 0 : errorCode;
      return { ...failedMap(handedOut, map, route, failure(handedOut)), released: true };
    }
    this.#events.ub(
      "swiotlb-xen",
      `xen_swiotlb_map_page(${dev.name}, ${formatHex(map)}, ${size}): bounce buffer bus ${
        formatHex(bus)
      }+${size} is beyond the device's mask; 3.11 unmaps it and returns 0, which ${this.arch}'s ` +
        `dma_mapping_error does not recognise (it only catches ${formatHex(errorCode)}): ` +
        `the driver goes on with dma handle 0x0`,
    );
    return { ...r, bus: 0, failure: failure(0), released: true };
  }

  /** `tree insert`: xen_dma_add_entry into the live tree (lib/swiotlb_xen/insert.ts). */
  insertEntry(dmaAddr: number, physAddr: number, size: number): InsertEntryResult {
    return insertEntry(this, this.#events, dmaAddr, physAddr, size);
  }

  /**
   * The phys an unmap/sync of `bus` resolves to (xen_bus_to_phys), refusing (checked) an
   * unknown bus address; is_xen_swiotlb_buffer's answer is left in {@link lastVerdict}
   * (no result object on every unmap).
   */
  #resolve(call: string, bus: Addr): Addr {
    if (!this.autotranslate && !this.events.tracing) {
      // PV: one m2p look answers xen_bus_to_phys and is_xen_swiotlb_buffer alike.
      const p = pvBusToPhys(this, bus);
      this.#resolved = pvVerdict(this, p);
      return p === undefined ? dmaErrorCode(this.arch) : p;
    }
    const phys = this.busToPhys(bus);
    this.#resolved = swiotlbVerdict(this, bus);
    const swiotlb = this.#resolved.verdict;
    if (this.autotranslate && swiotlb && !this.core.isSwiotlbBuffer(phys)) {
      const problem = phys === dmaErrorCode(this.arch)
        ? msg`${call}: bus ${addr(bus)} is in no tree node, so xen_bus_to_phys returns ${
          addr(phys)
        } and the core would index outside the pool`
        : msg`${call}: bus ${addr(bus)} maps to phys ${
          addr(phys)
        }, outside the swiotlb pool, yet is_xen_swiotlb_buffer says yes under autotranslate`;
      if (this.policy === "checked") throw new LabError(problem, "refused", "unknown-bus");
      this.#events.ub("swiotlb-xen", renderParts(problem));
    }
    return phys;
  }

  /** xen_swiotlb_unmap_page → xen_unmap_single: copy back (from/bidi) and free the slots. */
  unmapPage(_dev: Device, bus: Addr, size: number, dir: Direction): number {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: xen_unmap_single with DMA_NONE", "bug", "kernel-bug");
    }
    const phys = this.#resolve("unmap", bus);
    // Not a bounce buffer: FROM_DEVICE only "marks clean", a no-op here.
    if (!this.#resolved.verdict) return 0;
    const slot = this.variant === "rfc-v1" && typeof bus === "number"
      ? rfcV1BouncePhys(this, bus)
      : null;
    if (slot === null || slot === phys) {
      try {
        return this.core.unmapSingle(phys, size, dir);
      } catch (e) {
        throw atBus(bus, e);
      }
    }
    // rfc-v1's round trip on an unaligned pool: say so instead of "double unmap?".
    const why = msg`unmap of bus ${addr(bus)}: under rfc-v1 xen_bus_to_phys gives ${
      addr(phys)
    } (node.phys_addr + (bus & (256K - 1))), not the bounce slot ${
      addr(slot)
    } that xen_phys_to_bus turned into this handle — the pool is not 256 KiB aligned`;
    if (this.policy === "checked") throw new LabError(why, "refused", "rfc-v1-round-trip");
    this.#events.ub("swiotlb-xen", renderParts(why));
    return this.core.unmapSingle(phys, size, dir);
  }

  /**
   * xen_swiotlb_sync_single_for_cpu (target "cpu") and xen_swiotlb_sync_single_for_device
   * (target "device"), both through xen_swiotlb_sync_single.
   */
  syncSingle(_dev: Device, bus: Addr, size: number, dir: Direction, target: SyncTarget): number {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: xen_swiotlb_sync_single with DMA_NONE", "bug", "kernel-bug");
    }
    const phys = this.#resolve("sync", bus);
    if (!this.#resolved.verdict) return 0;
    try {
      return this.core.syncSingle(phys, size, dir, target);
    } catch (e) {
      throw atBus(bus, e);
    }
  }

  /** xen_swiotlb_map_sg_attrs: bounce an element iff forced, autotranslated, not capable or straddling. */
  mapSg(dev: Device, elems: { phys: number; length: number }[], dir: Direction): SgResult {
    if (dir === DMA_NONE) {
      throw new LabError("BUG: xen_swiotlb_map_sg_attrs with DMA_NONE", "bug", "kernel-bug");
    }
    const out: SgElement[] = [];
    for (let i = 0; i < elems.length; i++) {
      const { phys, length } = elems[i];
      const devAddr = this.physToBus(phys);
      const route = this.#route(dev, phys, length, devAddr);
      if (route.code === "fast-path") {
        out.push({
          phys,
          length,
          dmaAddress: route.bus,
          dmaLength: length,
          bounced: false,
          slot: null,
          route,
        });
        continue;
      }
      const map = this.core.mapSingle({
        tblDmaAddr: this.startDmaAddr,
        orig: phys,
        size: length,
        dir,
        segBoundary: dev.segBoundary,
      });
      if (map === MAP_ERROR) {
        // Unmap the prefix, zero element 0's dma length, return the error code.
        const failure = poolFull(length, this.core.lastMap.probes);
        const faithful = this.policy === "faithful" ? { events: this.#events } : null;
        const staleCopied = undoSgPrefix(this, dev, out, dir, faithful);
        return {
          ret: dmaErrorCode(this.arch),
          error: true,
          elements: failedSgList(elems, out),
          failure: { element: i, failure, undone: out.length, staleCopied },
        };
      }
      const bus = this.physToBus(map);
      out.push({
        phys,
        length,
        // A pool slot always translates (the segment array covers the whole pool).
        dmaAddress: typeof bus === "number" ? bus : 0,
        dmaLength: length,
        bounced: true,
        slot: this.core.slotIndex(map),
        route,
      });
    }
    return { ret: elems.length, error: false, elements: out, failure: null };
  }

  /** xen_swiotlb_unmap_sg_attrs: xen_unmap_single per element. */
  unmapSg(dev: Device, elems: SgElement[], dir: Direction): number {
    return unmapSgList(this, dev, elems, dir);
  }

  /** xen_swiotlb_sync_sg_for_cpu / xen_swiotlb_sync_sg_for_device (xen_swiotlb_sync_sg). */
  syncSg(dev: Device, elems: SgElement[], dir: Direction, target: SyncTarget): number {
    return syncSgList(this, dev, elems, dir, target);
  }

  /** xen_swiotlb_alloc_coherent (3.11 + RFC). */
  allocCoherent(dev: Device, size: number): CoherentResult | undefined {
    return this.#coherent.alloc(dev, size);
  }

  /** xen_swiotlb_free_coherent; 3.11's PV leak of exchanged memory under faithful. */
  freeCoherent(dev: Device, phys: number, bus: Addr, size: number): FreeCoherentResult {
    return this.#coherent.free(dev, phys, bus, size);
  }

  /** xen_swiotlb_dma_supported: the bus address of the pool's last byte is under the mask. */
  dmaSupported(_dev: Device, mask: Mask): boolean {
    return this.physToBus(this.poolEnd - 1) <= mask;
  }
}

/**
 * The core's refusal of the bounce slot `bus` translated to, said of the bus address the
 * driver passed: the core speaks of slots and their guest-physical addresses, which the
 * driver never saw.
 */
function atBus(bus: Addr, e: unknown): unknown {
  return e instanceof LabError && e.kind === "refused" ? e.within(msg`bus ${addr(bus)}: `) : e;
}
