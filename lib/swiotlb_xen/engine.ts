/**
 * swiotlb-xen's dma_map_ops (SPEC §6, §7) for PV and autotranslated guests: the
 * translations of the RFC (segment array phys→bus, tree bus→phys), the fast path and
 * the bounce path of map_page, unmap / sync, scatter-gather and coherent memory.
 *
 * @module
 */

import { formatHex, IO_TLB_SEGSIZE, IO_TLB_SIZE } from "../addr.ts";
import {
  type Arch,
  type Device,
  dmaCapable,
  dmaErrorCode,
  dmaMappingError,
} from "../dma/device.ts";
import type { CoherentResult, DmaOps, MapResult, SgElement, SgResult } from "../dma/ops.ts";
import { type Direction, DMA_BIDIRECTIONAL, DMA_NONE, DMA_TO_DEVICE } from "../direction.ts";
import { LabError } from "../errors.ts";
import type { EventLog } from "../events.ts";
import { positionPath } from "../rbtree.ts";
import { MAP_ERROR, type Policy, SwiotlbCore, type SyncTarget } from "../swiotlb/mod.ts";
import { CoherentAllocator } from "./coherent.ts";
import type { XenSwiotlbInit } from "./init.ts";
import {
  type BusLookup,
  isXenSwiotlbBuffer,
  lookupBus,
  lookupPhys,
  type PhysLookup,
  type Variant,
  xenBusToPhys,
  xenPhysToBus,
  type XenTranslation,
} from "./translate.ts";
import type { XenPlatform } from "../dma/platform.ts";
import { failedSgList, syncSgList, unmapSgList } from "../dma/sg.ts";
import {
  type BusTree,
  type IntervalStep,
  xenDmaAddEntry,
  type XenDmaInfo,
  xenDmaOverlaps,
} from "./tree.ts";

export type { BusLookup, PhysLookup, Variant } from "./translate.ts";

/** Options of {@link XenSwiotlb}. */
export interface XenSwiotlbOptions {
  policy: Policy;
  variant: Variant;
  /** swiotlb_force. */
  force: boolean;
  events: EventLog;
}

/** What {@link XenSwiotlb.insertEntry} did. */
export interface InsertEntryResult {
  /** False when xen_dma_add_entry refused it (an equal dma_addr or phys_addr on its path). */
  ok: boolean;
  /** The entry as inserted (kind "manual"). */
  entry: XenDmaInfo;
  /** The kernel's warning when refused. */
  warning?: string;
  /** Nodes whose bus interval the new one overlaps (accepted under faithful only). */
  overlaps: XenDmaInfo[];
  /** Where the node ended up after the insert's rebalancing (`root/r/l`), null if refused. */
  path: string | null;
}

/** "segment 2 [0x180000, +0x40000)": a node as messages name it. */
export function describeNode(e: XenDmaInfo): string {
  const what = e.kind === "segment" ? `segment ${e.index}` : `${e.kind} node`;
  return `${what} [${formatHex(e.dmaAddr)}, ${formatHex(e.dmaAddr + e.size)})`;
}

/** swiotlb-xen on a Xen guest (PV or autotranslated, SPEC §5–§7). */
export class XenSwiotlb implements DmaOps, XenTranslation {
  readonly name: string;
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
  readonly #coherent: CoherentAllocator;

  constructor(platform: XenPlatform, init: XenSwiotlbInit, opts: XenSwiotlbOptions) {
    if (!init.ok) throw new LabError("Cannot start swiotlb-xen: its init failed", "failed");
    this.platform = platform;
    this.#events = opts.events;
    this.arch = platform.arch;
    this.autotranslate = platform.autotranslate;
    this.variant = opts.variant;
    this.force = opts.force;
    this.seg = init.seg;
    this.tree = init.tree;
    this.poolPhys = init.poolPhys;
    this.poolEnd = init.poolPhys + init.nslabs * IO_TLB_SIZE;
    this.name = `swiotlb-xen (${this.autotranslate ? `autotranslate, ${opts.variant}` : "PV"})`;
    this.core = new SwiotlbCore({
      nslabs: init.nslabs,
      start: init.poolPhys,
      memory: platform.memory,
      policy: opts.policy,
      events: opts.events,
    });
    // 3.11: start_dma_addr = xen_virt_to_bus(xen_io_tlb_start); the RFC passes
    // xen_dma_seg[0].dma_addr at every map (SPEC §5 step 5, §7).
    this.startDmaAddr = this.autotranslate ? this.seg[0].dmaAddr : this.physToBus(this.poolPhys);
    this.#coherent = new CoherentAllocator(this, opts.events);
  }

  /** PV free_coherent leaks counted (faithful). */
  get leakedCoherentBytes(): number {
    return this.#coherent.leakedBytes;
  }

  get policy(): Policy {
    return this.core.policy;
  }

  /** xen_phys_to_bus (SPEC §6). */
  physToBus(phys: number): number {
    return xenPhysToBus(this, phys);
  }

  /** xen_bus_to_phys (SPEC §6); the error code when the tree knows no such bus address. */
  busToPhys(bus: number, steps?: IntervalStep[]): number {
    return xenBusToPhys(this, bus, steps);
  }

  /** is_xen_swiotlb_buffer: PV — the frame is ours and inside the pool; autotranslate — always. */
  isXenSwiotlbBuffer(bus: number): boolean {
    return isXenSwiotlbBuffer(this, bus);
  }

  /** `lookup phys`: the translation and the path it took. */
  lookupPhys(phys: number): PhysLookup {
    return lookupPhys(this, phys);
  }

  /** `lookup bus`: the translation and every tree node compared on the way. */
  lookupBus(bus: number): BusLookup {
    return lookupBus(this, bus);
  }

  #bounceResult(map: number, dir: Direction, size: number, why: string): MapResult {
    const slot = this.core.slotIndex(map);
    return {
      bus: this.physToBus(map),
      phys: map,
      bounced: true,
      slot,
      segment: Math.floor(slot / IO_TLB_SEGSIZE),
      copied: dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL ? size : 0,
      error: false,
      why,
    };
  }

  #fail(phys: number, why: string, bus = dmaErrorCode(this.arch)): MapResult {
    return { bus, phys, bounced: false, slot: null, segment: null, copied: 0, error: true, why };
  }

  /** xen_swiotlb_map_page (3.11 + RFC). */
  mapPage(dev: Device, phys: number, size: number, dir: Direction): MapResult {
    if (dir === DMA_NONE) throw new LabError("BUG: xen_swiotlb_map_page with DMA_NONE", "bug");
    const devAddr = this.physToBus(phys);
    let why: string;
    if (this.autotranslate) {
      why = "autotranslated guests always bounce (the p2m of a random page is unknown)";
    } else {
      const capable = dmaCapable(this.arch, dev, devAddr, size);
      const contiguous = this.platform.isMachineContiguous(phys, size);
      if (capable && contiguous && !this.force) {
        return {
          bus: devAddr,
          phys,
          bounced: false,
          slot: null,
          segment: null,
          copied: 0,
          error: false,
          why: `fast path: bus ${
            formatHex(devAddr)
          } is under the device mask and machine-contiguous`,
        };
      }
      why = this.force
        ? "swiotlb_force"
        : !capable
        ? `bus ${formatHex(devAddr)}+${size} is beyond ${dev.name}'s DMA mask`
        : "the buffer straddles a page boundary onto a non-consecutive machine frame";
    }
    const map = this.core.mapSingle({
      tblDmaAddr: this.startDmaAddr,
      orig: phys,
      size,
      dir,
      segBoundary: dev.segBoundary,
    });
    if (map === MAP_ERROR) {
      return this.#fail(phys, `swiotlb buffer is full (${size} bytes): ${why}`);
    }
    const bus = this.physToBus(map);
    if (!dmaCapable(this.arch, dev, bus, size)) return this.#notCapable(dev, phys, map, size, dir);
    return this.#bounceResult(map, dir, size, why);
  }

  /**
   * The bounce buffer itself is beyond the device's mask: 3.11 unmaps it (bouncing back
   * for FROM_DEVICE / BIDIRECTIONAL) and returns 0 — x86's DMA error code, but not arm's
   * (all-ones), so arm's dma_mapping_error says "no error" and the driver goes on with bus
   * 0 (SPEC §7). faithful hands out that 0 and records the undefined behaviour; checked
   * flags the failure and returns arm's own error code, which dma_mapping_error catches.
   */
  #notCapable(dev: Device, phys: number, map: number, size: number, dir: Direction): MapResult {
    const bus = this.physToBus(map);
    const mask = dev.dmaMask === undefined ? "no dma_mask" : `mask ${formatHex(dev.dmaMask)}`;
    const slot = this.core.slotIndex(map);
    const copied = dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL ? size : 0;
    this.core.unmapSingle(map, size, dir);
    const beyond = `bounce buffer bus ${formatHex(bus)}+${size} is beyond ${dev.name}'s ${mask}`;
    if (dmaMappingError(this.arch, 0)) {
      return this.#fail(
        phys,
        `${beyond}: xen_swiotlb_map_page unmaps it and returns 0, ${this.arch}'s DMA error code`,
        0,
      );
    }
    const problem =
      `xen_swiotlb_map_page(${dev.name}, ${formatHex(phys)}, ${size}): ${beyond}; 3.11 ` +
      `unmaps it and returns 0, which ${this.arch}'s dma_mapping_error does not recognise ` +
      `(it only catches ${formatHex(dmaErrorCode(this.arch))})`;
    if (this.policy === "checked") {
      return this.#fail(
        phys,
        `${problem}; the checked policy returns ${this.arch}'s error code instead`,
      );
    }
    this.#events.ub("swiotlb-xen", `${problem}: the driver goes on with dma handle 0x0`);
    return {
      bus: 0,
      phys: map,
      bounced: true,
      slot,
      segment: Math.floor(slot / IO_TLB_SEGSIZE),
      copied,
      error: false,
      why: `${beyond}; the slots were given back and 3.11 returned 0, which ${this.arch}'s ` +
        `dma_mapping_error takes for a valid handle`,
    };
  }

  /**
   * `tree insert`: puts `{dma, phys, size}` into the bus→phys tree the way the RFC's
   * xen_dma_add_entry would — refused only when a node met on the way down has an EQUAL
   * dma_addr or phys_addr (the kernel's warning is logged). An interval overlapping other
   * nodes goes in under faithful (recorded as undefined behaviour: lookups there then
   * answer by the tree's shape); checked refuses it and changes nothing (SPEC §6).
   */
  insertEntry(dmaAddr: number, physAddr: number, size: number): InsertEntryResult {
    for (const [what, v] of [["dma_addr", dmaAddr], ["phys_addr", physAddr]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new LabError(`tree insert: ${what} ${v} is not an address`);
      }
    }
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new LabError(`tree insert: size ${size} must be a positive number of bytes`);
    }
    const entry: XenDmaInfo = { dmaAddr, physAddr, size, kind: "manual", index: -1 };
    const overlaps = xenDmaOverlaps(this.tree, dmaAddr, size);
    const call = `xen_dma_add_entry(phys=${formatHex(physAddr)} -> dma=${
      formatHex(dmaAddr)
    }, size ${formatHex(size)})`;
    const clash = overlaps.length === 0
      ? ""
      : `[${formatHex(dmaAddr)}, ${formatHex(dmaAddr + size)}) overlaps ${
        overlaps.map(describeNode).join(" and ")
      }`;
    if (clash && this.policy === "checked") {
      throw new LabError(
        `${call}: ${clash}; the RFC's insert would accept it (it only rejects an equal ` +
          `dma_addr or phys_addr met on its way down) and bus→phys lookups there would ` +
          `answer by the tree's shape`,
        "refused",
      );
    }
    const added = xenDmaAddEntry(this.tree, entry);
    if ("warning" in added) {
      this.#events.log("swiotlb-xen", added.warning);
      return { ok: false, entry, warning: added.warning, overlaps, path: null };
    }
    if (clash) {
      this.#events.ub(
        "swiotlb-xen",
        `${call}: accepted although ${clash}; a lookup there returns whichever node the ` +
          `tree walk meets first`,
      );
    }
    return { ok: true, entry, overlaps, path: positionPath(added.node) };
  }

  /** The phys an unmap/sync of `bus` resolves to, refusing (checked) an unknown bus address. */
  #resolve(call: string, bus: number): { phys: number; swiotlb: boolean } {
    const phys = this.busToPhys(bus);
    const swiotlb = this.isXenSwiotlbBuffer(bus);
    if (this.autotranslate && swiotlb && !this.core.isSwiotlbBuffer(phys)) {
      const problem = phys === dmaErrorCode(this.arch)
        ? `${call}: bus ${formatHex(bus)} is in no tree node, so xen_bus_to_phys returns ${
          formatHex(phys)
        } and the core would index outside the pool`
        : `${call}: bus ${formatHex(bus)} maps to phys ${
          formatHex(phys)
        }, outside the swiotlb pool, yet is_xen_swiotlb_buffer says yes under autotranslate`;
      if (this.policy === "checked") throw new LabError(problem, "refused");
      this.#events.ub("swiotlb-xen", problem);
    }
    return { phys, swiotlb };
  }

  /** xen_unmap_single. */
  unmapPage(_dev: Device, bus: number, size: number, dir: Direction): number {
    if (dir === DMA_NONE) throw new LabError("BUG: xen_unmap_single with DMA_NONE", "bug");
    const { phys, swiotlb } = this.#resolve("unmap", bus);
    if (swiotlb) return this.core.unmapSingle(phys, size, dir);
    // Not a bounce buffer: FROM_DEVICE only "marks clean", a no-op here.
    return 0;
  }

  /** xen_swiotlb_sync_single. */
  syncSingle(_dev: Device, bus: number, size: number, dir: Direction, target: SyncTarget): number {
    if (dir === DMA_NONE) throw new LabError("BUG: xen_swiotlb_sync_single with DMA_NONE", "bug");
    const { phys, swiotlb } = this.#resolve("sync", bus);
    if (swiotlb) return this.core.syncSingle(phys, size, dir, target);
    return 0;
  }

  /** xen_swiotlb_map_sg_attrs: bounce an element iff forced, autotranslated, not capable or straddling. */
  mapSg(dev: Device, elems: { phys: number; length: number }[], dir: Direction): SgResult {
    if (dir === DMA_NONE) throw new LabError("BUG: xen_swiotlb_map_sg_attrs with DMA_NONE", "bug");
    const out: SgElement[] = [];
    for (let i = 0; i < elems.length; i++) {
      const { phys, length } = elems[i];
      const devAddr = this.physToBus(phys);
      if (
        this.force || this.autotranslate || !dmaCapable(this.arch, dev, devAddr, length) ||
        !this.platform.isMachineContiguous(phys, length)
      ) {
        const map = this.core.mapSingle({
          tblDmaAddr: this.startDmaAddr,
          orig: phys,
          size: length,
          dir,
          segBoundary: dev.segBoundary,
        });
        if (map === MAP_ERROR) {
          // Unmap the prefix, zero element 0's dma length, return the error code.
          this.unmapSg(dev, out, dir);
          const failed = failedSgList(elems, out);
          return {
            ret: dmaErrorCode(this.arch),
            error: true,
            elements: failed,
            why:
              `swiotlb buffer is full at element ${i} (${length} bytes); ${out.length} mapped element(s) undone`,
          };
        }
        out.push({
          phys,
          length,
          dmaAddress: this.physToBus(map),
          dmaLength: length,
          bounced: true,
          slot: this.core.slotIndex(map),
        });
      } else {
        out.push({
          phys,
          length,
          dmaAddress: devAddr,
          dmaLength: length,
          bounced: false,
          slot: null,
        });
      }
    }
    return {
      ret: elems.length,
      error: false,
      elements: out,
      why: `${elems.length} element(s) mapped, none merged`,
    };
  }

  /** xen_swiotlb_unmap_sg_attrs: xen_unmap_single per element. */
  unmapSg(dev: Device, elems: SgElement[], dir: Direction): number {
    return unmapSgList(this, dev, elems, dir);
  }

  /** xen_swiotlb_sync_sg. */
  syncSg(dev: Device, elems: SgElement[], dir: Direction, target: SyncTarget): number {
    return syncSgList(this, dev, elems, dir, target);
  }

  /** xen_swiotlb_alloc_coherent (3.11 + RFC). */
  allocCoherent(dev: Device, size: number): CoherentResult | undefined {
    return this.#coherent.alloc(dev, size);
  }

  /** xen_swiotlb_free_coherent; 3.11's PV leak of exchanged memory under faithful. */
  freeCoherent(
    dev: Device,
    phys: number,
    bus: number,
    size: number,
  ): { leaked: boolean; why: string } {
    return this.#coherent.free(dev, phys, bus, size);
  }

  /** xen_swiotlb_dma_supported: the bus address of the pool's last byte is under the mask. */
  dmaSupported(_dev: Device, mask: number): boolean {
    return this.physToBus(this.poolEnd - 1) <= mask;
  }
}
