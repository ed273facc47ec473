/**
 * The dma-mapping front door: what a driver calls, around the guest's dma_map_ops, with
 * the DMA-API debug layer's hooks (SPEC §7, §8). Moved out of the guest.
 *
 * @module
 */

import { formatHex } from "../addr.ts";
import { type Direction, directionShort, DMA_BIDIRECTIONAL } from "../direction.ts";
import { LabError } from "../errors.ts";
import { slotsFor, type SyncTarget } from "../swiotlb/mod.ts";
import type { DebugMapping, DmaDebug } from "./debug.ts";
import { type Device, dmaMappingError } from "./device.ts";
import type { DmaOps, MapResult, SgElement, SgResult } from "./ops.ts";

/** How the DMA-API debug layer names a call (SPEC §8). */
export interface DmaCallOptions {
  /**
   * The label of the call in debug reports and live mappings ("map nic rx 8K to"; the
   * REPL passes the line). Default: built from the arguments.
   */
  call?: string;
}

/** Options of {@link DmaMapping.map} and {@link DmaMapping.unmap}. */
export interface MapCallOptions extends DmaCallOptions {
  /** dma_map_page / dma_unmap_page instead of …_single: the debug layer tells them apart. */
  page?: boolean;
}

/** What {@link DmaMapping.mappingError} answers. */
export interface MappingErrorAnswer {
  /** dma_mapping_error() of the guest's arch (SPEC §7). */
  error: boolean;
  /** The debug layer marked a live mapping at that handle as checked. */
  marked: boolean;
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

/** The DMA API of one guest. */
export class DmaMapping {
  readonly ops: DmaOps;
  readonly #debug: DmaDebug;
  readonly #arch: "x86" | "arm";
  readonly #coherent = new Map<number, { dev: string; phys: number; size: number }>();
  readonly #sg = new Map<string, SgElement[]>();
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

  /** dma_map_single (or dma_map_page with `opts.page`). */
  map(
    d: Device,
    phys: number,
    size: number,
    dir: Direction,
    opts: MapCallOptions = {},
  ): MapResult {
    if (!(size > 0)) throw new LabError(`BUG: dma_map of ${size} bytes`, "bug");
    const r = this.ops.mapPage(d, phys, size, dir);
    this.counters.maps++;
    if (r.error) this.counters.mapErrors++;
    else if (r.bounced) this.counters.bounces++;
    else this.counters.fastPaths++;
    if (this.#debug.enabled) {
      this.#debug.addMapping({
        device: d.name,
        type: opts.page ? "page" : "single",
        phys,
        bus: r.bus,
        size,
        dir,
        call: opts.call ?? `map ${d.name} ${formatHex(phys)} ${size} ${directionShort(dir)}`,
        slot: this.#liveSlot(r.bounced ? r.slot : null),
        nslots: slotsFor(size),
      });
    }
    return r;
  }

  /**
   * dma_unmap_single (or _page). The debug layer checks the call before the engine runs
   * it (so its report shows even when the checked policy refuses) and forgets the
   * mapping only once the engine has unmapped it.
   */
  unmap(
    d: Device,
    bus: number,
    size: number,
    dir: Direction,
    opts: MapCallOptions = {},
  ): { copied: number } {
    const ops = this.ops;
    const dbg = this.#debug;
    const entry = dbg.enabled
      ? dbg.checkUnmap({
        device: d.name,
        type: opts.page ? "page" : "single",
        bus,
        size,
        dir,
        call: opts.call ?? `unmap ${d.name} ${formatHex(bus)} ${size} ${directionShort(dir)}`,
      })
      : undefined;
    const copied = ops.unmapPage(d, bus, size, dir);
    if (entry) dbg.remove(entry);
    return { copied };
  }

  /** dma_sync_single_for_cpu / _for_device; checked by the debug layer first. */
  sync(
    d: Device,
    bus: number,
    size: number,
    dir: Direction,
    target: SyncTarget,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const ops = this.ops;
    if (this.#debug.enabled) {
      this.#debug.checkSync({
        device: d.name,
        type: "single",
        bus,
        size,
        dir,
        call: opts.call ??
          `sync ${d.name} ${formatHex(bus)} ${size} ${directionShort(dir)} --for ${target}`,
      });
    }
    return { copied: ops.syncSingle(d, bus, size, dir, target) };
  }

  /**
   * dma_mapping_error(dev, bus): the arch's answer (SPEC §7). The debug layer notes that
   * the driver checked this handle, so its unmap is not reported as unchecked.
   */
  mappingError(d: Device, bus: number): MappingErrorAnswer {
    const error = dmaMappingError(this.#arch, bus);
    const marked = this.#debug.enabled && this.#debug.mappingError(d.name, bus);
    return { error, marked };
  }

  #sgKey(dev: string, elems: { phys: number; length: number }[]): string {
    return dev + ":" + elems.map((e) => `${e.phys}+${e.length}`).join(",");
  }

  /** dma_map_sg: the debug layer records each element with the list's nents. */
  mapSg(
    d: Device,
    elems: { phys: number; length: number }[],
    dir: Direction,
    opts: DmaCallOptions = {},
  ): SgResult {
    if (elems.length === 0) throw new LabError("map-sg needs at least one element");
    const r = this.ops.mapSg(d, elems, dir);
    this.counters.sgMaps++;
    if (!r.error) this.#sg.set(this.#sgKey(d.name, elems), r.elements);
    if (!r.error && this.#debug.enabled) {
      const call = opts.call ?? `map-sg ${d.name} ${this.#sgLabel(elems)} ${directionShort(dir)}`;
      for (const e of r.elements) {
        this.#debug.addMapping({
          device: d.name,
          type: "sg",
          phys: e.phys,
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          call,
          slot: this.#liveSlot(e.bounced ? e.slot : null),
          nslots: slotsFor(e.dmaLength),
        });
      }
    }
    return r;
  }

  /**
   * The slot a new mapping holds, for the debug layer's overlap check — null when the
   * pool does not have it in use (3.11's "not capable" path gives the slots back and
   * still returns a handle, SPEC §7).
   */
  #liveSlot(slot: number | null): number | null {
    const core = this.ops.core;
    return slot !== null && core.freeRun[slot] === 0 ? slot : null;
  }

  #sgLabel(elems: { phys: number; length: number }[]): string {
    return elems.map((e) => `${formatHex(e.phys)}:${e.length}`).join(" ");
  }

  /**
   * The mapped elements a driver passes to dma_unmap_sg / dma_sync_sg: the live list
   * with exactly these elements, or — a driver passing a smaller nents than it mapped —
   * the first elements of a live list that starts with them.
   */
  #sgMapped(
    dev: string,
    elems: { phys: number; length: number }[],
  ): { key: string; list: SgElement[]; mapped: SgElement[] } {
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
      `No live scatterlist of ${dev} with those elements: map it with map-sg first`,
      "refused",
    );
  }

  /** dma_unmap_sg; the debug layer checks every element first. */
  unmapSg(
    d: Device,
    elems: { phys: number; length: number }[],
    dir: Direction,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const ops = this.ops;
    const { key, list, mapped } = this.#sgMapped(d.name, elems);
    const dbg = this.#debug;
    const entries: (DebugMapping | undefined)[] = [];
    if (dbg.enabled) {
      const call = opts.call ?? `unmap-sg ${d.name} ${this.#sgLabel(elems)} ${directionShort(dir)}`;
      // debug_dma_unmap_sg matches element by element, each taking its own record:
      // two identical elements must not both claim the same one.
      const claimed = new Set<DebugMapping>();
      for (const e of mapped) {
        const found = dbg.checkUnmap({
          device: d.name,
          type: "sg",
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          call,
        }, claimed);
        if (found) claimed.add(found);
        entries.push(found);
      }
    }
    const copied = ops.unmapSg(d, mapped, dir);
    for (const e of entries) if (e) dbg.remove(e);
    this.#sg.delete(key);
    // A shorter nents leaves the rest of the list mapped: keep it, under its own elements.
    const rest = list.slice(mapped.length);
    if (rest.length > 0) this.#sg.set(this.#sgKey(d.name, rest), rest);
    return { copied };
  }

  /** dma_sync_sg_for_cpu / _for_device; the debug layer checks every element first. */
  syncSg(
    d: Device,
    elems: { phys: number; length: number }[],
    dir: Direction,
    target: SyncTarget,
    opts: DmaCallOptions = {},
  ): { copied: number } {
    const ops = this.ops;
    const { mapped } = this.#sgMapped(d.name, elems);
    if (this.#debug.enabled) {
      const call = opts.call ??
        `sync-sg ${d.name} ${this.#sgLabel(elems)} ${directionShort(dir)} --for ${target}`;
      for (const e of mapped) {
        this.#debug.checkSync({
          device: d.name,
          type: "sg",
          bus: e.dmaAddress,
          size: e.dmaLength,
          dir,
          sgCount: elems.length,
          call,
        });
      }
    }
    return { copied: ops.syncSg(d, mapped, dir, target) };
  }

  /** dma_alloc_coherent; recorded by the debug layer as a BIDIRECTIONAL coherent mapping. */
  allocCoherent(d: Device, size: number, opts: DmaCallOptions = {}) {
    if (!(size > 0)) throw new LabError(`Cannot allocate ${size} coherent bytes`);
    const r = this.ops.allocCoherent(d, size);
    if (!r) {
      throw new LabError(
        `dma_alloc_coherent of ${size} bytes for ${d.name} failed (no memory under the coherent mask)`,
        "failed",
      );
    }
    this.#coherent.set(r.bus, { dev: d.name, phys: r.phys, size });
    this.counters.coherentAllocs++;
    if (this.#debug.enabled) {
      // Native swiotlb hands out pool slots when pages are beyond the coherent mask.
      const core = this.ops.core;
      const inPool = core.isSwiotlbBuffer(r.phys);
      this.#debug.addMapping({
        device: d.name,
        type: "coherent",
        phys: r.phys,
        bus: r.bus,
        size,
        dir: DMA_BIDIRECTIONAL,
        call: opts.call ?? `alloc-coherent ${d.name} ${size}`,
        slot: inPool ? core.slotIndex(r.phys) : null,
        nslots: slotsFor(size),
      });
    }
    return r;
  }

  /** dma_free_coherent; the debug layer checks the call before the guest refuses a bad one. */
  freeCoherent(
    d: Device,
    bus: number,
    size: number,
    opts: DmaCallOptions = {},
  ): { leaked: boolean; why: string } {
    const ops = this.ops;
    const dbg = this.#debug;
    const entry = dbg.enabled
      ? dbg.checkUnmap({
        device: d.name,
        type: "coherent",
        bus,
        size,
        dir: DMA_BIDIRECTIONAL,
        call: opts.call ?? `free-coherent ${d.name} ${formatHex(bus)} ${size}`,
      })
      : undefined;
    const rec = this.#coherent.get(bus);
    if (!rec || rec.dev !== d.name) {
      throw new LabError(
        `free-coherent: ${formatHex(bus)} is not a coherent buffer of ${d.name}`,
        "refused",
      );
    }
    if (rec.size !== size) {
      throw new LabError(
        `free-coherent: ${formatHex(bus)} was allocated with ${rec.size} bytes, not ${size}`,
        "refused",
      );
    }
    this.#coherent.delete(bus);
    const r = ops.freeCoherent(d, rec.phys, bus, size);
    if (entry) dbg.remove(entry);
    return r;
  }
}
