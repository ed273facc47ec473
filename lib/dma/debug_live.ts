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

/**
 * The mappings live at one handle, oldest first, and when the handle last went from none
 * to some: the device's handles are searched in that order (see
 * {@link LiveMappings.findContaining}).
 */
interface Handle {
  since: number;
  list: DebugEntry[];
}

/**
 * How many emptied handles may be kept before a sweep (and never more than there are
 * filled ones, so a sweep's walk costs O(1) a delete on average). A handle whose last
 * mapping went stays, empty, so a replay that maps and unmaps one address does not delete
 * and re-add a map entry a line (measured on a million-line pv-dom0 replay: 75 MB of peak
 * RSS, all old-generation garbage); kept too long, the handles of a replay through ever
 * other addresses (arm-dom0's slots) live to be promoted and make the same garbage.
 */
const MAX_EMPTY_HANDLES = 512;

/** The live mappings of every device. */
export class LiveMappings {
  /** device → bus → mappings at that handle (a handle can be live twice, e.g. two fast-path maps of one page). */
  readonly #live = new Map<string, Map<Addr, Handle>>();
  /** Handles that went from none to some, counted: the order a device's are searched in. */
  #filled = 0;
  /** Handles kept, and how many of them are empty. */
  #handles = 0;
  #empty = 0;

  /** Forgets every mapping. */
  clear(): void {
    this.#live.clear();
    this.#handles = 0;
    this.#empty = 0;
  }

  /** Records a new mapping (hash_bucket_add). */
  add(entry: DebugEntry): void {
    let byBus = this.#live.get(entry.device);
    if (!byBus) this.#live.set(entry.device, byBus = new Map());
    const h = byBus.get(entry.bus);
    if (!h) {
      byBus.set(entry.bus, { since: this.#filled++, list: [entry] });
      this.#handles++;
    } else {
      if (h.list.length === 0) {
        h.since = this.#filled++;
        this.#empty--;
      }
      h.list.push(entry);
    }
  }

  /** The mappings of `device` at exactly `bus`, oldest first (undefined: none). */
  at(device: string, bus: Addr): DebugEntry[] | undefined {
    const h = this.#live.get(device)?.get(bus);
    return h && h.list.length > 0 ? h.list : undefined;
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
    // check then reports. Ties go to the handle filled first, then to the older mapping.
    let best: DebugEntry | undefined;
    let bestScore = -1;
    let bestSince = Infinity;
    for (const h of byBus.values()) {
      const list = h.list;
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (typeof e.bus !== "number" || e.bus > bus || bus >= e.bus + e.size) continue;
        const score = (bus + ref.size <= e.bus + e.size ? 2 : 0) +
          (e.dir === DMA_BIDIRECTIONAL || e.dir === ref.dir ? 1 : 0);
        if (score > bestScore || (score === bestScore && h.since < bestSince)) {
          best = e;
          bestScore = score;
          bestSince = h.since;
        }
      }
    }
    // The best match at the handle itself stands unless a mapping scores above nothing.
    return exact && bestScore <= 0 ? exact : best;
  }

  /** Forgets `entry` (hash_bucket_del); false when it was not live. */
  delete(entry: DebugEntry): boolean {
    const list = this.#live.get(entry.device)?.get(entry.bus)?.list;
    if (!list) return false;
    const i = list.indexOf(entry);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length > 0) return true;
    this.#empty++;
    if (this.#empty > MAX_EMPTY_HANDLES && 2 * this.#empty > this.#handles) this.#sweep();
    return true;
  }

  /** Drops every emptied handle (a later map there is filled anew, in the same order). */
  #sweep(): void {
    for (const byBus of this.#live.values()) {
      for (const [bus, h] of byBus) if (h.list.length === 0) byBus.delete(bus);
    }
    this.#handles -= this.#empty;
    this.#empty = 0;
  }

  /** How many handles are kept, the emptied ones included (bounded, see the sweep). */
  get handles(): number {
    return this.#handles;
  }

  /** Every live mapping of `device`, oldest first. */
  ofDevice(device: string): DebugEntry[] {
    const byBus = this.#live.get(device);
    return byBus ? [...byBus.values()].flatMap((h) => h.list).sort((a, b) => a.id - b.id) : [];
  }

  /** Forgets every mapping of `device`. */
  dropDevice(device: string): void {
    const byBus = this.#live.get(device);
    if (!byBus) return;
    for (const h of byBus.values()) if (h.list.length === 0) this.#empty--;
    this.#handles -= byBus.size;
    this.#live.delete(device);
  }

  /** Every live mapping, oldest first (the records themselves). */
  all(): DebugEntry[] {
    const out: DebugEntry[] = [];
    for (const byBus of this.#live.values()) {
      for (const h of byBus.values()) for (const e of h.list) out.push(e);
    }
    return out.sort((a, b) => a.id - b.id);
  }
}
