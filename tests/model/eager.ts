/**
 * A plain eager model of the 3.11 slot allocator, written straight from SPEC §3 with no
 * cleverness: io_tlb_list and io_tlb_orig_addr as plain arrays, every counter written on
 * every call, one index at a time. It also does what the kernel does with a bad call
 * (the faithful policy): an index outside the pool reads as 0 and its write is dropped,
 * a double unmap or a wrong size renumbers whatever it reaches. What the kernel would
 * do, not what it should: the differential test holds the bitmap-backed core to it.
 *
 * @module
 */

import type { Mask } from "../../lib/addr.ts";

const SLOT = 2048;
const SEG = 128;

/** What one map did. */
export interface ModelMap {
  /** Slot index, or -1 when no run fits. */
  index: number;
  nslots: number;
  stride: number;
  probes: number;
  boundarySkips: number;
  /** The run would go past nslabs (a short last segment). */
  pastEnd: boolean;
}

/** Slot count of a size: ALIGN(size, 2048) >> IO_TLB_SHIFT. */
export function nslotsOf(size: number): number {
  return Math.ceil(size / SLOT);
}

/** `tbl & mask` for a mask 2^n - 1 or the 64-bit all-ones sentinel. */
function masked(tbl: number, mask: Mask): number {
  return typeof mask === "bigint" ? tbl : tbl % (mask + 1);
}

function maxSlotsOf(mask: Mask): number {
  return typeof mask === "bigint" ? 2 ** 53 : Math.ceil((mask + 1) / SLOT);
}

/** The model: the kernel's arrays and index, and the count of slots in use. */
export class EagerModel {
  readonly list: number[] = [];
  readonly orig: number[] = [];
  hint = 0;
  slotsUsed = 0;
  /** Out-of-bounds accesses of the last call (the core reports them as one UB). */
  traps = 0;

  constructor(readonly nslabs: number) {
    for (let i = 0; i < nslabs; i++) {
      this.list.push(SEG - (i % SEG));
      this.orig.push(0);
    }
  }

  #get(i: number): number {
    if (i >= 0 && i < this.nslabs) return this.list[i];
    this.traps++;
    return 0;
  }

  #set(i: number, v: number): void {
    if (i >= 0 && i < this.nslabs) this.list[i] = v;
    else this.traps++;
  }

  /** The search alone (map steps 1–4): what the kernel would pick, changing nothing. */
  search(tbl: number, size: number, mask: Mask): ModelMap {
    const nslots = nslotsOf(size);
    const offsetSlots = Math.ceil(masked(tbl, mask) / SLOT);
    const maxSlots = maxSlotsOf(mask);
    const stride = size > 4096 ? 2 : 1;
    const crosses = (i: number) => ((offsetSlots + i) % maxSlots) + nslots > maxSlots;
    const advance = (i: number) => (i + stride >= this.nslabs ? 0 : i + stride);
    let index = Math.ceil(this.hint / stride) * stride;
    if (index >= this.nslabs) index = 0;
    const wrap = index;
    let probes = 0, boundarySkips = 0;
    const out = (index: number): ModelMap => ({
      index,
      nslots,
      stride,
      probes,
      boundarySkips,
      pastEnd: index >= 0 && index + nslots > this.nslabs,
    });
    do {
      while (crosses(index)) {
        probes++;
        boundarySkips++;
        index = advance(index);
        if (index === wrap) return out(-1);
      }
      probes++;
      if (this.list[index] >= nslots) return out(index);
      index = advance(index);
    } while (index !== wrap);
    return out(-1);
  }

  /** Map step 5 for a search's answer: zero, renumber left, hint, orig_addr. */
  commit(m: ModelMap, origAddr: number): void {
    this.traps = 0;
    const { index, nslots } = m;
    for (let i = index; i < index + nslots; i++) {
      if (i < this.nslabs && this.list[i] > 0) this.slotsUsed++;
      // A write past the pool is dropped (the core's typed array ignores it).
      if (i < this.nslabs) this.list[i] = 0;
    }
    let count = 0;
    for (let i = index - 1; i >= 0 && i % SEG !== SEG - 1 && this.list[i] !== 0; i--) {
      this.list[i] = ++count;
    }
    this.hint = index + nslots < this.nslabs ? index + nslots : 0;
    for (let k = 0; k < nslots; k++) {
      if (index + k < this.nslabs) this.orig[index + k] = origAddr + k * SLOT;
    }
  }

  /**
   * Unmap at slot `index` (any int: the kernel's index of a bad address too) of `size`
   * bytes: the freed run counts on from its right neighbour in the same segment, then
   * the free slots to its left are renumbered, every access outside the pool trapped.
   */
  unmap(index: number, size: number): void {
    this.traps = 0;
    const nslots = nslotsOf(size);
    const segEnd = (Math.floor(index / SEG) + 1) * SEG;
    let count = index + nslots < segEnd ? this.#get(index + nslots) : 0;
    for (let i = index + nslots - 1; i >= index; i--) {
      if (i >= 0 && i < this.nslabs && this.list[i] === 0) this.slotsUsed--;
      this.#set(i, ++count);
    }
    for (let i = index - 1; (i & (SEG - 1)) !== SEG - 1 && this.#get(i) !== 0; i--) {
      this.#set(i, ++count);
    }
  }
}
