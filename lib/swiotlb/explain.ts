/**
 * `explain on` for the slot search of `swiotlb_tbl_map_single` (SPEC §3 steps 2–4): the
 * same next-fit walk the core makes, taken again one index at a time over the same free
 * list, each step recorded as a {@link SlotStep}. The core calls it only while its event
 * log is explaining, before its own search (which it then checks against this walk's
 * answer), so the hot loop stays as it is.
 *
 * The output is bounded whatever the pool: the first {@link SHOWN_PER_RUN} too-short
 * indices of each run of misses are shown one by one and the rest of the run is one
 * summary step; a run of boundary skips is one step; past {@link MAX_DETAIL} steps the
 * misses and skips are only counted (one step before the wrap, one at the end).
 *
 * @module
 */

import type { EventLog } from "../events.ts";
import type { SlotStep } from "../explain.ts";

/** Too-short indices shown one by one at the head of each run of misses. */
export const SHOWN_PER_RUN = 3;
/** Detail steps per search before misses and skips are only counted. */
export const MAX_DETAIL = 16;

/** What the search reads of the core. */
export interface SearchState {
  /** io_tlb_list. */
  readonly freeRun: Int32Array;
  readonly nslabs: number;
  /** io_tlb_index. */
  readonly hint: number;
}

/** What one map asks of the search (SPEC §3 steps 1–3, as the core computed them). */
export interface SearchQuery {
  size: number;
  nslots: number;
  stride: number;
  offsetSlots: number;
  maxSlots: number;
}

/** Groups the walk's misses and skips into bounded steps. */
class Steps {
  readonly #events: EventLog;
  #detail = 0;
  #shown = 0;
  #short = { first: 0, last: 0, count: 0 };
  #skip = { first: 0, last: 0, count: 0 };
  #elided = { short: 0, boundary: 0 };

  constructor(events: EventLog) {
    this.#events = events;
  }

  #push(step: SlotStep): void {
    this.#events.explain(step);
    this.#detail++;
  }

  short(index: number, free: number): void {
    this.#flushSkip();
    if (this.#detail >= MAX_DETAIL) {
      this.#flushShort();
      this.#elided.short++;
    } else if (this.#shown < SHOWN_PER_RUN) {
      this.#shown++;
      this.#push({ kind: "slot-short", index, free });
    } else {
      const r = this.#short;
      if (r.count === 0) r.first = index;
      r.last = index;
      r.count++;
    }
  }

  boundary(index: number): void {
    this.#flushShort();
    // The misses after a skipped stretch start a new run.
    this.#shown = 0;
    if (this.#detail >= MAX_DETAIL) {
      this.#flushSkip();
      this.#elided.boundary++;
      return;
    }
    const r = this.#skip;
    if (r.count === 0) r.first = index;
    r.last = index;
    r.count++;
  }

  wrap(after: number): void {
    this.#flushAll();
    this.#shown = 0;
    this.#events.explain({ kind: "slot-wrap", after });
  }

  end(step: SlotStep): void {
    this.#flushAll();
    this.#events.explain(step);
  }

  #flushShort(): void {
    const r = this.#short;
    if (r.count === 0) return;
    this.#push({ kind: "slot-short-run", first: r.first, last: r.last, count: r.count });
    r.count = 0;
  }

  #flushSkip(): void {
    const r = this.#skip;
    if (r.count === 0) return;
    this.#push({ kind: "slot-boundary", first: r.first, last: r.last, count: r.count });
    r.count = 0;
  }

  #flushAll(): void {
    this.#flushShort();
    this.#flushSkip();
    const e = this.#elided;
    if (e.short + e.boundary === 0) return;
    this.#events.explain({ kind: "slot-elided", short: e.short, boundary: e.boundary });
    e.short = 0;
    e.boundary = 0;
  }
}

/**
 * Walks the slot search of one map and records its steps in `events`: the start (hint
 * aligned up to the stride), each too-short index (runs summarised), each run of boundary
 * skips, the wrap to 0, and the slot taken or the failure. Returns the index found, or -1
 * when the search comes back to its start. Reads the free list, changes nothing.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EventLog } from "../events.ts";
 * import { explainSlotSearch } from "./explain.ts";
 * const events = new EventLog();
 * events.explaining = true;
 * // A toy 4-slot pool whose slot 0 is in use: a 1-slot map takes slot 1.
 * const freeRun = Int32Array.from([0, 127, 126, 125]);
 * const q = { size: 2048, nslots: 1, stride: 1, offsetSlots: 0, maxSlots: 2 ** 21 };
 * assertEquals(explainSlotSearch(events, { freeRun, nslabs: 4, hint: 0 }, q), 1);
 * assertEquals(events.drainExplained().map((s) => s.kind), ["slot-start", "slot-short", "slot-taken"]);
 * ```
 */
export function explainSlotSearch(events: EventLog, core: SearchState, q: SearchQuery): number {
  const { freeRun: list, nslabs, hint } = core;
  const { nslots, stride, offsetSlots, maxSlots } = q;
  let index = Math.ceil(hint / stride) * stride;
  if (index >= nslabs) index = 0;
  const wrap = index;
  // No index of the pool can cross a boundary when the last one cannot (no wrap-around
  // of the modulo inside the pool).
  const binds = (offsetSlots % maxSlots) + (nslabs - 1) + nslots > maxSlots;
  events.explain({
    kind: "slot-start",
    size: q.size,
    nslots,
    stride,
    hint,
    index,
    nslabs,
    offsetSlots,
    maxSlots: binds ? maxSlots : null,
  });
  const steps = new Steps(events);
  let probes = 0;
  let boundarySkips = 0;
  for (;;) {
    probes++;
    if (((offsetSlots + index) % maxSlots) + nslots > maxSlots) {
      // iommu_is_span_boundary: [index, index + nslots) would cross a boundary.
      boundarySkips++;
      steps.boundary(index);
    } else if (list[index] >= nslots) {
      const end = index + nslots;
      steps.end({
        kind: "slot-taken",
        index,
        free: list[index],
        nslots,
        probes,
        boundarySkips,
        hint: end < nslabs ? end : 0,
      });
      return index;
    } else {
      steps.short(index, list[index]);
    }
    const next = index + stride;
    if (next >= nslabs) {
      steps.wrap(index);
      index = 0;
    } else {
      index = next;
    }
    if (index === wrap) {
      steps.end({ kind: "slot-full", index: wrap, probes, boundarySkips });
      return -1;
    }
  }
}
