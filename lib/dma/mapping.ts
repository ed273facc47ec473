/**
 * The dma-mapping front door (include/asm-generic/dma-mapping-common.h in 3.11): what a
 * driver calls, around the guest's dma_map_ops, with the DMA-API debug layer's hooks in
 * the kernel's order — `debug_dma_map_page` after a map, `check_unmap` before the unmap
 * is performed (so its report shows even when the checked policy then refuses the
 * call), the record dropped only once the unmap happened (SPEC §7, §8).
 *
 * Kernel names, once: `dma_map_single_attrs` / `dma_map_page` → {@link DmaMapping.mapSingle},
 * `dma_unmap_single_attrs` / `dma_unmap_page` → {@link DmaMapping.unmapSingle},
 * `dma_mapping_error` → {@link DmaMapping.mappingError},
 * `dma_sync_single_for_cpu` / `dma_sync_single_for_device` → {@link DmaMapping.syncSingle},
 * `dma_map_sg_attrs` → {@link DmaMapping.mapSg}, `dma_unmap_sg_attrs` →
 * {@link DmaMapping.unmapSg}, `dma_sync_sg_for_cpu` / `dma_sync_sg_for_device` →
 * {@link DmaMapping.syncSg}, `dma_alloc_coherent` / `dma_free_coherent` →
 * {@link DmaMapping.allocCoherent} / {@link DmaMapping.freeCoherent}.
 *
 * @module
 */

import { type Addr, formatHex } from "../addr.ts";
import { type Direction, directionName, DMA_BIDIRECTIONAL } from "../direction.ts";
import { addr, LabError, msg } from "../errors.ts";
import { slotsFor } from "../swiotlb/mod.ts";
import type { DebugEntry, DmaDebug } from "./debug.ts";
import { type Device, dmaMappingError } from "./device.ts";
import type {
  CoherentResult,
  DmaOps,
  FreeCoherentResult,
  MapResult,
  SgElement,
  SgResult,
  SyncTarget,
} from "./ops.ts";

/** A scatterlist element as the driver passes it. */
export interface SgRef {
  phys: number;
  length: number;
}

/** Counters of the front door (SPEC §9 `stats`). */
export interface MappingCounters {
  maps: number;
  bounces: number;
  fastPaths: number;
  mapErrors: number;
  sgMaps: number;
  coherentAllocs: number;
}

/** What {@link DmaMapping.mappingError} answers. */
export interface MappingErrorAnswer {
  /** dma_mapping_error() of the guest's arch (SPEC §7). */
  error: boolean;
  /** The debug layer marked a live mapping at that handle as checked. */
  marked: boolean;
}

/** A live coherent buffer (to free it the way it was made). */
interface CoherentRecord {
  dev: string;
  phys: number;
  size: number;
}

/** `(nic, 0x1000, 8192, DMA_TO_DEVICE)`: a call's arguments as the kernel prints them. */
function args(dev: Device, a: Addr, size: number, dir?: Direction): string {
  return `(${dev.name}, ${formatHex(a)}, ${size}${
    dir === undefined ? "" : `, ${directionName(dir)}`
  })`;
}

/** The DMA API of one guest. */
export class DmaMapping {
  readonly ops: DmaOps;
  readonly #debug: DmaDebug;
  readonly #arch: "x86" | "arm";
  readonly #sg = new Map<string, SgElement[]>();
  readonly #coherent = new Map<Addr, CoherentRecord>();
  readonly counters: MappingCounters = {
    maps: 0,
    bounces: 0,
    fastPaths: 0,
    mapErrors: 0,
    sgMaps: 0,
    coherentAllocs: 0,
  };

  constructor(ops: DmaOps, debug: DmaDebug, arch: "x86" | "arm") {
    this.ops = ops;
    this.#debug = debug;
    this.#arch = arch;
  }

  /**
   * The slot a new mapping holds, for the debug layer's overlap check — null when the
   * pool does not have it in use (3.11's "not capable" path gives the slots back and
   * still returns a handle, SPEC §7).
   */
  #liveSlot(slot: number | null): number | null {
    return slot !== null && this.ops.core.slotInUse(slot) ? slot : null;
  }

  /**
   * Validate, then commit: a buffer of no bytes is the kernel's BUG; a scatterlist
   * element outside guest memory is no page of the driver's. Both are refused before any
   * slot or counter moves (a single map may name any address: only its bounce needs
   * memory, and the core checks that).
   */
  #checkBuffer(phys: number, size: number, sg: boolean): void {
    if (!(size > 0)) {
      throw new LabError(
        msg`BUG: dma_map${sg ? "_sg element" : ""} of ${size} bytes`,
        "bug",
        "kernel-bug",
      );
    }
    if (sg && this.ops.core.memory?.contains?.(phys, size) === false) {
      throw new LabError(
        msg`Cannot map the element of ${size} bytes at guest-physical ${
          addr(phys)
        }: not this guest's memory`,
        "refused",
        "outside-memory",
      );
    }
  }

  /** dma_map_single_attrs (or dma_map_page with `page`), then debug_dma_map_page. */
  mapSingle(d: Device, phys: number, size: number, dir: Direction, page = false): MapResult {
    this.#checkBuffer(phys, size, false);
    const r = this.ops.mapPage(d, phys, size, dir);
    const c = this.counters;
    c.maps++;
    if (r.error) c.mapErrors++;
    else if (r.bounced) c.bounces++;
    else c.fastPaths++;
    if (this.#debug.enabled) {
      this.#debug.debugDmaMapPage({
        device: d.name,
        type: page ? "page" : "single",
        phys,
        bus: r.bus,
        size,
        dir,
        fn: page ? "dma_map_page" : "dma_map_single",
        slot: this.#liveSlot(r.bounced ? r.slot : null),
        nslots: slotsFor(size),
      });
    }
    if (this.#debug.enabled && r.crossesBoundary !== null) {
      this.#debug.boundaryCross(
        d.name,
        `dma_map_${page ? "page" : "single"}${args(d, phys, size, dir)}`,
        r.bus,
        size,
        r.crossesBoundary.mask,
      );
    }
    return r;
  }

  /** dma_unmap_single_attrs (or dma_unmap_page), with debug_dma_unmap_page's check first. */
  unmapSingle(d: Device, bus: Addr, size: number, dir: Direction, page = false): number {
    const dbg = this.#debug;
    const entry = dbg.enabled
      ? dbg.debugDmaUnmapPage({
        device: d.name,
        type: page ? "page" : "single",
        bus,
        size,
        dir,
        fn: page ? "dma_unmap_page" : "dma_unmap_single",
      })
      : undefined;
    const copied = this.ops.unmapPage(d, bus, size, dir);
    if (dbg.enabled) dbg.settle(entry);
    return copied;
  }

  /** dma_sync_single_for_cpu / dma_sync_single_for_device, debug_dma_sync_single_* first. */
  syncSingle(d: Device, bus: Addr, size: number, dir: Direction, target: SyncTarget): number {
    if (this.#debug.enabled) {
      this.#debug.debugDmaSyncSingle({
        device: d.name,
        type: "single",
        bus,
        size,
        dir,
        fn: target === "cpu" ? "dma_sync_single_for_cpu" : "dma_sync_single_for_device",
      });
    }
    return this.ops.syncSingle(d, bus, size, dir, target);
  }

  /**
   * dma_mapping_error(dev, bus): the arch's answer (SPEC §7); debug_dma_mapping_error
   * notes that the driver checked this handle.
   */
  mappingError(d: Device, bus: Addr): MappingErrorAnswer {
    const error = dmaMappingError(this.#arch, bus);
    const marked = this.#debug.enabled && this.#debug.debugDmaMappingError(d.name, bus);
    return { error, marked };
  }

  #sgKey(dev: string, elems: readonly SgRef[]): string {
    return dev + ":" + elems.map((e) => `${e.phys}+${e.length}`).join(",");
  }

  /** dma_map_sg_attrs, then debug_dma_map_sg: each element recorded with the list's nents. */
  mapSg(d: Device, elems: SgRef[], dir: Direction): SgResult {
    if (elems.length === 0) {
      throw new LabError("dma_map_sg needs at least one element", "usage", "out-of-range");
    }
    for (const e of elems) this.#checkBuffer(e.phys, e.length, true);
    const r = this.ops.mapSg(d, elems, dir);
    this.counters.sgMaps++;
    const stale = r.failure?.staleCopied ?? 0;
    if (stale > 0 && this.#debug.enabled) {
      const call = `dma_map_sg(${d.name}, sg[${elems.length}], ${directionName(dir)})`;
      this.#debug.staleCopyBack(d.name, call, r.failure?.undone ?? 0, stale);
    }
    if (!r.error) this.#sg.set(this.#sgKey(d.name, elems), r.elements);
    if (!r.error && this.#debug.enabled) {
      for (const e of r.elements) {
        this.#debug.debugDmaMapPage({
          device: d.name,
          type: "sg",
          phys: e.phys,
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          fn: "dma_map_sg",
          slot: this.#liveSlot(e.bounced ? e.slot : null),
          nslots: slotsFor(e.dmaLength),
        });
      }
    }
    return r;
  }

  /**
   * The mapped elements a driver passes to dma_unmap_sg / dma_sync_sg: the live list
   * with exactly these elements, or — a driver passing a smaller nents than it mapped —
   * the first elements of a live list that starts with them.
   */
  #sgMapped(dev: string, elems: readonly SgRef[]) {
    const key = this.#sgKey(dev, elems);
    const exact = this.#sg.get(key);
    if (exact) return { key, list: exact, mapped: exact };
    for (const [k, list] of this.#sg) {
      if (!k.startsWith(dev + ":") || list.length <= elems.length) continue;
      if (elems.every((e, i) => list[i].phys === e.phys && list[i].length === e.length)) {
        return { key: k, list, mapped: list.slice(0, elems.length) };
      }
    }
    throw new LabError(
      `No live scatterlist of ${dev} with those elements`,
      "refused",
      "no-sg-list",
    );
  }

  /** dma_unmap_sg_attrs; debug_dma_unmap_sg checks every element first. */
  unmapSg(d: Device, elems: SgRef[], dir: Direction): number {
    const { key, list, mapped } = this.#sgMapped(d.name, elems);
    const dbg = this.#debug;
    const entries: (DebugEntry | undefined)[] = [];
    if (dbg.enabled) {
      // debug_dma_unmap_sg matches element by element, each taking its own record:
      // two identical elements must not both claim the same one.
      const claimed = new Set<DebugEntry>();
      for (const e of mapped) {
        const found = dbg.debugDmaUnmapPage({
          device: d.name,
          type: "sg",
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          fn: "dma_unmap_sg",
        }, claimed);
        if (found) claimed.add(found);
        entries.push(found);
      }
    }
    // Checked: a smaller nents would leave the list's other elements mapped for good
    // (refused after the debug layer's report, as for every refusal).
    if (mapped.length < list.length && this.ops.core.policy === "checked") {
      throw new LabError(
        msg`dma_unmap_sg with ${elems.length} of the ${list.length} elements ${d.name} mapped: the other ${
          list.length - elems.length
        } would stay mapped with no call left to unmap them`,
        "refused",
        "sg-count",
      );
    }
    const copied = this.ops.unmapSg(d, mapped, dir);
    for (const e of entries) if (e) dbg.remove(e);
    this.#sg.delete(key);
    // A shorter nents leaves the rest of the list mapped: keep it, under its own elements.
    const rest = list.slice(mapped.length);
    if (rest.length > 0) this.#sg.set(this.#sgKey(d.name, rest), rest);
    return copied;
  }

  /** dma_sync_sg_for_cpu / dma_sync_sg_for_device; debug_dma_sync_sg_* checks each element. */
  syncSg(d: Device, elems: SgRef[], dir: Direction, target: SyncTarget): number {
    const { mapped } = this.#sgMapped(d.name, elems);
    if (this.#debug.enabled) {
      const fn = target === "cpu" ? "dma_sync_sg_for_cpu" : "dma_sync_sg_for_device";
      for (const e of mapped) {
        this.#debug.debugDmaSyncSingle({
          device: d.name,
          type: "sg",
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          fn,
        });
      }
    }
    return this.ops.syncSg(d, mapped, dir, target);
  }

  /** dma_alloc_coherent, then debug_dma_alloc_coherent (a BIDIRECTIONAL coherent record). */
  allocCoherent(d: Device, size: number): CoherentResult {
    if (!(size > 0)) {
      throw new LabError(msg`Cannot allocate ${size} coherent bytes`, "usage", "out-of-range");
    }
    const r = this.ops.allocCoherent(d, size);
    if (!r) {
      throw new LabError(
        msg`dma_alloc_coherent of ${size} bytes for ${d.name} failed (no memory under the coherent mask)`,
        "failed",
        "coherent-failed",
      );
    }
    this.#coherent.set(r.bus, { dev: d.name, phys: r.phys, size });
    this.counters.coherentAllocs++;
    if (this.#debug.enabled) {
      // Native swiotlb hands out pool slots when pages are beyond the coherent mask.
      const core = this.ops.core;
      const inPool = core.isSwiotlbBuffer(r.phys);
      this.#debug.debugDmaMapPage({
        device: d.name,
        type: "coherent",
        phys: r.phys,
        bus: r.bus,
        size,
        dir: DMA_BIDIRECTIONAL,
        fn: "dma_alloc_coherent",
        slot: inPool ? core.slotIndex(r.phys) : null,
        nslots: slotsFor(size),
      });
    }
    return r;
  }

  /** dma_free_coherent; debug_dma_free_coherent checks the call before a bad one is refused. */
  freeCoherent(d: Device, bus: Addr, size: number): FreeCoherentResult {
    const dbg = this.#debug;
    const entry = dbg.enabled
      ? dbg.debugDmaUnmapPage({
        device: d.name,
        type: "coherent",
        bus,
        size,
        dir: DMA_BIDIRECTIONAL,
        fn: "dma_free_coherent",
      })
      : undefined;
    const rec = this.#coherent.get(bus);
    if (!rec || rec.dev !== d.name) {
      throw new LabError(
        msg`dma_free_coherent: ${addr(bus)} is not a coherent buffer of ${d.name}`,
        "refused",
        "no-coherent",
      );
    }
    if (rec.size !== size) {
      throw new LabError(
        msg`dma_free_coherent: ${addr(bus)} was allocated with ${rec.size} bytes, not ${size}`,
        "refused",
        "wrong-size",
      );
    }
    this.#coherent.delete(bus);
    const r = this.ops.freeCoherent(d, rec.phys, bus, size);
    if (dbg.enabled) dbg.settle(entry);
    return r;
  }
}
