/**
 * The DMA-API debug layer's live records (SPEC §8; lib/dma-debug.c's hash of
 * `struct dma_debug_entry`): by device, then by dma handle, and the kernel's two look-ups
 * into them — `hash_bucket_find`'s best match at a handle and `bucket_find_contain`'s
 * mapping that holds a synced range. Moved out of debug.ts.
 *
 * @module
 */

import type { Addr } from "../addr.ts";
import { DMA_BIDIRECTIONAL } from "../direction.ts";
import type { DebugEntry, DebugRef } from "./debug_types.ts";

/** The live mappings of every device. */
export class LiveMappings {
  /** device → bus → mappings at that handle (a handle can be live twice, e.g. two fast-path maps of one page). */
  readonly #live = new Map<string, Map<Addr, DebugEntry[]>>();

  /** Forgets every mapping. */
  clear(): void {
    this.#live.clear();
  }

  /** Records a new mapping (hash_bucket_add). */
  add(entry: DebugEntry): void {
    let byBus = this.#live.get(entry.device);
    if (!byBus) this.#live.set(entry.device, byBus = new Map());
    const list = byBus.get(entry.bus);
    if (list) list.push(entry);
    else byBus.set(entry.bus, [entry]);
  }

  /** The mappings of `device` at exactly `bus`, oldest first (undefined: none). */
  at(device: string, bus: Addr): DebugEntry[] | undefined {
    return this.#live.get(device)?.get(bus);
  }

  /**
   * hash_bucket_find: among this device's live mappings at exactly `ref.bus`, the one
   * that matches size, type, direction and nents best (all four: at once).
   */
  findExact(ref: DebugRef, skip?: ReadonlySet<DebugEntry>): DebugEntry | undefined {
    const list = this.at(ref.device, ref.bus);
    if (!list) return undefined;
    const sg = ref.sgCount ?? 0;
    let best: DebugEntry | undefined;
    let bestScore = -1;
    for (const e of list) {
      if (skip?.has(e)) continue;
      const score = (e.size === ref.size ? 1 : 0) + (e.type === ref.type ? 1 : 0) +
        (e.dir === ref.dir ? 1 : 0) + (e.sgCount === sg ? 1 : 0);
      if (score === 4) return e;
      if (score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * The mapping a sync lands in: one that starts at `ref.bus` (best match), else any of
   * the device's mappings whose range holds `ref.bus` (bucket_find_contain).
   */
  findContaining(ref: DebugRef): DebugEntry | undefined {
    const exact = this.findExact(ref);
    if (exact && exact.size >= ref.size) return exact;
    const byBus = this.#live.get(ref.device);
    const bus = ref.bus;
    // The all-ones value contains nothing but itself.
    if (!byBus || typeof bus !== "number") return exact;
    // The kernel's containing_match: a mapping that holds the whole synced range wins,
    // one whose direction fits the sync before one whose does not (two live mappings
    // can hold the same bytes); else one that holds the first byte, which the range
    // check then reports.
    let best: DebugEntry | undefined = exact;
    let bestScore = exact ? 0 : -1;
    for (const list of byBus.values()) {
      for (const e of list) {
        if (typeof e.bus !== "number" || e.bus > bus || bus >= e.bus + e.size) continue;
        const score = (bus + ref.size <= e.bus + e.size ? 2 : 0) +
          (e.dir === DMA_BIDIRECTIONAL || e.dir === ref.dir ? 1 : 0);
        if (score > bestScore) {
          best = e;
          bestScore = score;
        }
      }
    }
    return best;
  }

  /** Forgets `entry` (hash_bucket_del); false when it was not live. */
  delete(entry: DebugEntry): boolean {
    const byBus = this.#live.get(entry.device);
    const list = byBus?.get(entry.bus);
    if (!byBus || !list) return false;
    const i = list.indexOf(entry);
    if (i < 0) return false;
    list.splice(i, 1);
    // An emptied handle goes (a later map there comes last in the device's order, as
    // containing_match's ties expect); a device's own table stays, empty, for its next map.
    if (list.length === 0) byBus.delete(entry.bus);
    return true;
  }

  /** Every live mapping of `device`, oldest first. */
  ofDevice(device: string): DebugEntry[] {
    const byBus = this.#live.get(device);
    return byBus ? [...byBus.values()].flat().sort((a, b) => a.id - b.id) : [];
  }

  /** Forgets every mapping of `device`. */
  dropDevice(device: string): void {
    this.#live.delete(device);
  }

  /** Every live mapping, oldest first (the records themselves). */
  all(): DebugEntry[] {
    const out: DebugEntry[] = [];
    for (const byBus of this.#live.values()) {
      for (const list of byBus.values()) for (const e of list) out.push(e);
    }
    return out.sort((a, b) => a.id - b.id);
  }
}
