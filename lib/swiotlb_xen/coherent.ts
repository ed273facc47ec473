/**
 * Coherent memory of swiotlb-xen (SPEC §7): `xen_swiotlb_alloc_coherent` and
 * `xen_swiotlb_free_coherent`, 3.11 plus the RFC. PV: pages that are beyond the coherent
 * mask or not machine-contiguous are exchanged with Xen; autotranslate: always
 * exchanged, and a `{phys, size, dma}` node goes into the bus→phys tree. 3.11's PV free
 * never gives exchanged memory back (reproduced under faithful, reported as UB).
 *
 * @module
 */

import { type Addr, fls, formatHex, getOrder, orderBytes } from "../addr.ts";
import type { Device } from "../dma/device.ts";
import type { CoherentResult, FreeCoherentResult } from "../dma/ops.ts";
import type { EventLog } from "../events.ts";
import type { Policy } from "../swiotlb/mod.ts";
import { xenPhysToBus, type XenTranslation } from "./translate.ts";
import { addr, joinParts, LabError, msg, renderParts } from "../errors.ts";
import { nodeName } from "./insert.ts";
import {
  xenDmaAddEntry,
  xenDmaAddEntryClash,
  type XenDmaInfo,
  xenDmaOverlaps,
  xenDmaRemoveEntry,
  xenGetDmaInfoFromDma,
} from "./tree.ts";

/** A coherent buffer handed out (needed to free it the way it was made). */
interface CoherentRecord {
  phys: number;
  size: number;
  exchanged: boolean;
  node: XenDmaInfo | null;
}

/** The coherent allocations of one swiotlb-xen instance. */
export class CoherentAllocator {
  readonly #t: XenTranslation & { readonly policy: Policy };
  readonly #events: EventLog;
  readonly #records = new Map<Addr, CoherentRecord>();
  /** Low machine memory 3.11's PV free leaked (faithful). */
  leakedBytes = 0;

  constructor(t: XenTranslation & { readonly policy: Policy }, events: EventLog) {
    this.#t = t;
    this.#events = events;
  }

  /** xen_swiotlb_alloc_coherent; undefined when no memory could be had or exchanged. */
  alloc(dev: Device, size: number): CoherentResult | undefined {
    const t = this.#t;
    const platform = t.platform;
    const order = getOrder(size);
    const bytes = orderBytes(order);
    const phys = platform.allocPages(bytes, bytes);
    if (phys === undefined) return undefined;
    const mask = dev.coherentMask;
    const devAddr = xenPhysToBus(t, phys);
    if (
      !t.autotranslate && typeof devAddr === "number" && devAddr + size - 1 <= mask &&
      platform.isMachineContiguous(phys, size)
    ) {
      platform.memory.write(phys, new Uint8Array(size));
      this.#records.set(devAddr, { phys, size, exchanged: false, node: null });
      return { bus: devAddr, phys, size, exchanged: false, route: { code: "under-mask" } };
    }
    const bits = fls(mask);
    const res = platform.createContiguousRegion(phys, order, bits);
    if (!res.ok) {
      platform.freePages(phys, bytes);
      return undefined;
    }
    const bus = res.dmaHandle ?? (t.autotranslate ? 0 : platform.physToMachine(phys));
    let node: XenDmaInfo | null = null;
    if (t.autotranslate) {
      // The RFC as revised stores the requested size, not the page-rounded allocation
      // (SPEC §7): a bus address in the rounding tail is in no node.
      node = { dmaAddr: bus, physAddr: phys, size, kind: "coherent", index: -1 };
      this.#checkOverlap(node, () => {
        platform.destroyContiguousRegion(phys, order);
        platform.freePages(phys, bytes);
      });
      const added = xenDmaAddEntry(t.tree, node, this.#events);
      if ("warning" in added) {
        this.#events.log("swiotlb-xen", added.warning);
        platform.destroyContiguousRegion(phys, order);
        platform.freePages(phys, bytes);
        return undefined;
      }
    }
    platform.memory.write(phys, new Uint8Array(size));
    this.#records.set(bus, { phys, size, exchanged: true, node });
    return {
      bus,
      phys,
      size,
      exchanged: true,
      route: { code: "exchanged", bits, treeNode: node !== null },
    };
  }

  /**
   * The RFC's insert lets a node overlap another it does not meet on its way down (only
   * a `tree insert` node can be there): checked undoes the exchange and refuses, faithful
   * inserts it and records the undefined behaviour, as `tree insert` does.
   */
  #checkOverlap(node: XenDmaInfo, undo: () => void): void {
    const tree = this.#t.tree;
    const overlaps = xenDmaOverlaps(tree, node.dmaAddr, node.size);
    if (overlaps.length === 0 || xenDmaAddEntryClash(tree, node) !== null) return;
    const what = msg`xen_swiotlb_alloc_coherent: the node [${addr(node.dmaAddr)}, ${
      addr(node.dmaAddr + node.size)
    }) overlaps ${joinParts(overlaps.map(nodeName), " and ")}`;
    if (this.#t.policy === "checked") {
      undo();
      throw new LabError(
        msg`${what}; the RFC's insert would accept it and bus→phys lookups there would answer by the tree's shape`,
        "refused",
        "tree-overlap",
      );
    }
    // A UB event is kernel-style text: its addresses stay hex (DESIGN.md).
    this.#events.ub(
      "swiotlb-xen",
      `${renderParts(what)}: accepted; a lookup there returns whichever node the walk meets first`,
    );
  }

  /** xen_swiotlb_free_coherent. */
  free(dev: Device, phys: number, bus: Addr, size: number): FreeCoherentResult {
    const t = this.#t;
    const platform = t.platform;
    const order = getOrder(size);
    const bytes = orderBytes(order);
    const rec = this.#records.get(bus);
    this.#records.delete(bus);
    if (t.autotranslate) {
      const node = xenGetDmaInfoFromDma(t.tree, bus);
      const erased = node !== null && node.kind === "coherent" &&
        xenDmaRemoveEntry(t.tree, node, this.#events);
      platform.destroyContiguousRegion(phys, order);
      platform.freePages(phys, bytes);
      return {
        leaked: false,
        leakedBytes: 0,
        how: erased ? "region-destroyed-node-erased" : "region-destroyed",
      };
    }
    // 3.11 PV: destroy only if the handle is above the mask or the range straddles —
    // which an exchanged region never is, so the exchanged low memory is never returned.
    const destroy = typeof bus !== "number" || bus + size - 1 > dev.coherentMask ||
      !platform.isMachineContiguous(phys, size);
    const exchanged = rec?.exchanged ?? false;
    if (destroy || (exchanged && t.policy === "checked")) {
      platform.destroyContiguousRegion(phys, order);
      platform.freePages(phys, bytes);
      return { leaked: false, leakedBytes: 0, how: "region-destroyed" };
    }
    platform.freePages(phys, bytes);
    if (!exchanged) return { leaked: false, leakedBytes: 0, how: "pages-freed" };
    this.leakedBytes += bytes;
    this.#events.ub(
      "swiotlb-xen",
      `xen_swiotlb_free_coherent(${formatHex(bus)}, ${size}): exchanged region below ${
        formatHex(dev.coherentMask)
      } is not destroyed, ${bytes} bytes of low machine memory leak (3.11)`,
    );
    return { leaked: true, leakedBytes: bytes, how: "leaked" };
  }
}
