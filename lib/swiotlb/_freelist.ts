/**
 * io_tlb_list, kept two ways (SPEC §3). While the counters are a pure function of which
 * slots are in use, they live in a used-slot bitmap (./_bitmap.ts) and are written out
 * per segment only when read. The first undefined behaviour, or an access past the end
 * of a short last segment (SPEC §5 step 4), writes them all out and switches to the
 * kernel's own eager counters (./_eager.ts) for good: from there on a corrupted list
 * is the state, and only the kernel's arithmetic reproduces it.
 *
 * @module
 */

import { IO_TLB_SEGSIZE } from "../addr.ts";
import { SlotBitmap } from "./_bitmap.ts";
import { giveList, type Given, searchList, takeList } from "./_eager.ts";
import type { Traps } from "./_traps.ts";
import type { MapOutcome } from "./types.ts";

/** The free list of one pool: a bitmap with lazily written counters, or eager counters. */
export class FreeList {
  readonly nslabs: number;
  /** io_tlb_list as last written out; segments in #staleList are behind the bitmap. */
  readonly #list: Int32Array;
  /** The used-slot bitmap while the counters follow from it; null once eager. */
  #bits: SlotBitmap | null;
  /** Per segment: 1 when its counters in #list are behind the bitmap. */
  readonly #stale: Uint8Array;
  readonly #staleList: Int32Array;
  #staleCount = 0;

  constructor(nslabs: number, eager: boolean) {
    this.nslabs = nslabs;
    const list = new Int32Array(nslabs);
    // Boot state: each segment counts down 128, 127, …, 1 (a short last segment too:
    // the counter is capped by the segment end, not by nslabs).
    for (let i = 0; i < nslabs; i++) list[i] = IO_TLB_SEGSIZE - (i & (IO_TLB_SEGSIZE - 1));
    this.#list = list;
    const nseg = Math.ceil(nslabs / IO_TLB_SEGSIZE);
    this.#stale = new Uint8Array(nseg);
    this.#staleList = new Int32Array(nseg);
    this.#bits = eager ? null : new SlotBitmap(nslabs);
  }

  /** The counters, every stale segment written out first: always exact. */
  get counters(): Int32Array {
    if (this.#staleCount !== 0) this.#writeOut();
    return this.#list;
  }

  /** io_tlb_list[i] === 0, without writing a stale segment out (one bitmap word). */
  inUse(i: number): boolean {
    const bits = this.#bits;
    if (bits === null || this.#stale[i >> 7] === 0) return this.#list[i] === 0;
    return (bits.words[i >> 5] & (1 << (i & 31))) !== 0;
  }

  /** True once the counters are the kernel's eager ones. */
  get eager(): boolean {
    return this.#bits === null;
  }

  /** Map steps 3–4 (see searchList): the index found or -1, probes and skips in `out`. */
  search(
    hint: number,
    nslots: number,
    stride: number,
    offsetSlots: number,
    maxSlots: number,
    out: MapOutcome,
  ): number {
    const bits = this.#bits;
    return bits !== null
      ? bits.search(hint, nslots, stride, offsetSlots, maxSlots, out)
      : searchList(this.#list, this.nslabs, hint, nslots, stride, offsetSlots, maxSlots, out);
  }

  /**
   * Map step 5 for [found, end): returns how many of those slots were free. A run past
   * nslabs (a short last segment, faithful) goes eager first.
   */
  take(found: number, end: number): number {
    const bits = this.#bits;
    if (bits !== null && end <= this.nslabs) {
      bits.take(found, end - found);
      this.#markStale(found >> 7);
      return end - found;
    }
    this.toEager();
    return takeList(this.#list, found, end);
  }

  /**
   * Unmap of [index, index + nslots). `valid` says the mapping is live with this size;
   * anything else (faithful) goes eager first, and so does a merge that would read the
   * counter past the end of a short last segment. `out.count` is the last counter the
   * kernel's merge writes, measured only when `wantCount` (the trace).
   */
  give(
    index: number,
    nslots: number,
    valid: boolean,
    traps: Traps,
    out: Given,
    wantCount: boolean,
  ): void {
    const bits = this.#bits;
    const next = index + nslots;
    if (
      bits !== null && valid && index >= 0 && nslots > 0 &&
      (next < this.nslabs || next >= (index | (IO_TLB_SEGSIZE - 1)) + 1)
    ) {
      out.count = bits.give(index, nslots, wantCount);
      this.#markStale(index >> 7);
      out.freed = nslots;
      return;
    }
    this.toEager();
    giveList(this.#list, traps, index, nslots, out);
  }

  /** From now on the counters are the kernel's, written on every call. */
  toEager(): void {
    if (this.#bits === null) return;
    if (this.#staleCount !== 0) this.#writeOut();
    this.#bits = null;
  }

  /** Segment j's counters are behind the bitmap now. */
  #markStale(j: number): void {
    if (this.#stale[j] === 0) {
      this.#stale[j] = 1;
      this.#staleList[this.#staleCount++] = j;
    }
  }

  /** Writes the counters of every stale segment out of the bitmap. */
  #writeOut(): void {
    const bits = this.#bits!;
    const list = this.#list;
    for (let k = 0; k < this.#staleCount; k++) {
      const j = this.#staleList[k];
      bits.counters(j, list);
      this.#stale[j] = 0;
    }
    this.#staleCount = 0;
  }
}
