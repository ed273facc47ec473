/**
 * Coherent memory of swiotlb-xen (SPEC §7): `xen_swiotlb_alloc_coherent` and
 * `xen_swiotlb_free_coherent`, 3.11 plus the RFC.
 *
 * @module
 */

import { fls, formatHex } from "../addr.ts";
import type { Device } from "../dma/device.ts";
import type { CoherentResult } from "../dma/ops.ts";
import type { EventLog } from "../events.ts";
import type { Policy } from "../swiotlb/mod.ts";
import { getOrder } from "./init.ts";
import { xenPhysToBus, type XenTranslation } from "./translate.ts";
import {
  xenDmaAddEntry,
  type XenDmaInfo,
  xenDmaRemoveEntry,
  xenGetDmaInfoFromDma,
} from "./tree.ts";

/** A coherent buffer the engine handed out (needed to free it the way it was made). */
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
  readonly #records = new Map<number, CoherentRecord>();
  /** PV free_coherent leaks counted (faithful). */
  leakedBytes = 0;

  constructor(t: XenTranslation & { readonly policy: Policy }, events: EventLog) {
    this.#t = t;
    this.#events = events;
  }

  /** xen_swiotlb_alloc_coherent (3.11 + RFC). */
  alloc(dev: Device, size: number): CoherentResult | undefined {
    const t = this.#t;
    const order = getOrder(size);
    const bytes = 4096 * 2 ** order;
    const phys = t.platform.allocPages(bytes, bytes);
    if (phys === undefined) return undefined;
    const mask = dev.coherentMask;
    const devAddr = xenPhysToBus(t, phys);
    let bus = devAddr;
    let exchanged = false;
    let node: XenDmaInfo | null = null;
    let why = "already under the coherent mask and machine-contiguous";
    if (
      t.autotranslate || devAddr + size - 1 > mask ||
      !t.platform.isMachineContiguous(phys, size)
    ) {
      const bits = fls(mask);
      const res = t.platform.createContiguousRegion(phys, order, bits);
      if (!res.ok) {
        t.platform.freePages(phys, bytes);
        return undefined;
      }
      exchanged = true;
      bus = res.dmaHandle ?? (t.autotranslate ? 0 : t.platform.physToMachine(phys));
      why = `exchanged with Xen for memory under ${bits} bits`;
      if (t.autotranslate) {
        node = { dmaAddr: bus, physAddr: phys, size: bytes, kind: "coherent", index: -1 };
        const added = xenDmaAddEntry(t.tree, node);
        if ("warning" in added) {
          this.#events.log("swiotlb-xen", added.warning);
          t.platform.destroyContiguousRegion(phys, order);
          t.platform.freePages(phys, bytes);
          return undefined;
        }
        why += "; bus→phys tree node added";
      }
    }
    t.platform.memory.write(phys, new Uint8Array(size));
    this.#records.set(bus, { phys, size, exchanged, node });
    return { bus, phys, size, exchanged, why };
  }

  /** xen_swiotlb_free_coherent; 3.11's PV leak of exchanged memory under faithful. */
  free(
    dev: Device,
    phys: number,
    bus: number,
    size: number,
  ): { leaked: boolean; why: string } {
    const t = this.#t;
    const order = getOrder(size);
    const bytes = 4096 * 2 ** order;
    const rec = this.#records.get(bus);
    if (t.autotranslate) {
      const node = xenGetDmaInfoFromDma(t.tree, bus);
      if (node !== null && node.kind === "coherent") xenDmaRemoveEntry(t.tree, node);
      t.platform.destroyContiguousRegion(phys, order);
      t.platform.freePages(phys, bytes);
      this.#records.delete(bus);
      return { leaked: false, why: "region destroyed and tree node erased" };
    }
    // 3.11 PV: destroy only if the handle is above the mask or the range straddles —
    // which an exchanged region never is, so the exchanged low memory is never returned.
    const destroy = bus + size - 1 > dev.coherentMask ||
      !t.platform.isMachineContiguous(phys, size);
    const exchanged = rec?.exchanged ?? false;
    let leaked = false;
    if (destroy || (exchanged && t.policy === "checked")) {
      t.platform.destroyContiguousRegion(phys, order);
    } else if (exchanged) {
      leaked = true;
      this.leakedBytes += bytes;
      this.#events.ub(
        "swiotlb-xen",
        `xen_swiotlb_free_coherent(${formatHex(bus)}, ${size}): exchanged region below ${
          formatHex(dev.coherentMask)
        } is not destroyed, ${bytes} bytes of low machine memory leak (3.11)`,
      );
    }
    t.platform.freePages(phys, bytes);
    this.#records.delete(bus);
    return { leaked, why: leaked ? "3.11 leaks the exchanged region (faithful)" : "freed" };
  }
}
