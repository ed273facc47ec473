/**
 * The free memory of a machine's buddy allocator (SPEC §4 "Machine"), as maximal naturally
 * aligned blocks: a block of order k starts at a multiple of 2^k frames and its buddy (the
 * other half of the order k+1 block) is never free at the same time. One
 * {@link SummaryBitset} per order holds the block numbers, so "lowest free block of order
 * ≥ k" is a handful of word look-ups. Moved out of machine.ts.
 *
 * @module
 */

import { addr, LabError, msg } from "../errors.ts";
import { SummaryBitset } from "./_bitset.ts";

/** The free blocks of a machine of `nrFrames` frames, orders 0 to `maxOrder`. */
export class FreeBlocks {
  readonly nrFrames: number;
  readonly maxOrder: number;
  /** Free blocks per order, by block number (mfn >> order). */
  readonly #free: SummaryBitset[] = [];
  /**
   * The first frame of every free block, whatever its order. Free blocks are disjoint,
   * so the highest start below a limit is the block holding the highest free frame
   * there: one look-up instead of one per order for a single frame from the top (each
   * page a failed fixup gives back, SPEC §5 step 4).
   */
  readonly #starts: SummaryBitset;
  #count = 0;

  /** No block is free yet: the machine adds its frames with {@link addFreeRange}. */
  constructor(nrFrames: number, maxOrder: number) {
    this.nrFrames = nrFrames;
    this.maxOrder = maxOrder;
    for (let order = 0; order <= maxOrder; order++) {
      this.#free.push(new SummaryBitset(Math.ceil(nrFrames / 2 ** order)));
    }
    this.#starts = new SummaryBitset(nrFrames);
  }

  /** Number of free frames. */
  get count(): number {
    return this.#count;
  }

  /** The free blocks of order `j`, by block number (for walks over them). */
  order(j: number): SummaryBitset {
    return this.#free[j];
  }

  /**
   * Takes the lowest naturally aligned extent of 2^order frames entirely below frame
   * `limit`, or the highest with `fromTop`; returns its first frame, or -1 when none is
   * free.
   */
  take(order: number, limit: number, fromTop: boolean): number {
    if (fromTop && order === 0) return this.#takeTopFrame(limit);
    const size = 2 ** order;
    let best = -1;
    let bestOrder = -1;
    let bestBlock = -1;
    for (let j = order; j <= this.maxOrder; j++) {
      const set = this.#free[j];
      const blockSize = 2 ** j;
      if (!fromTop) {
        const b = set.next(0);
        if (b < 0) continue;
        const start = b * blockSize;
        if (start + size <= limit && (best < 0 || start < best)) {
          best = start;
          bestOrder = j;
          bestBlock = start;
        }
      } else {
        // The block's first extent must fit: start ≤ limit - size.
        const b = set.prev(Math.floor((limit - size) / blockSize));
        if (b < 0) continue;
        const start = b * blockSize;
        const highest = Math.min(start + blockSize, Math.floor(limit / size) * size) - size;
        if (highest > best) {
          best = highest;
          bestOrder = j;
          bestBlock = start;
        }
      }
    }
    if (best < 0) return -1;
    this.#carve(bestBlock, bestOrder, best, order);
    return best;
  }

  /**
   * {@link take} of one frame from the top: the highest free frame below `limit` lies in
   * the free block with the highest start below it (any lower block ends at or below
   * that start), so the per-order search of take finds the same frame.
   */
  #takeTopFrame(limit: number): number {
    const start = this.#starts.prev(limit - 1);
    if (start < 0) return -1;
    const order = this.#orderAt(start);
    const at = Math.min(start + 2 ** order, limit) - 1;
    this.#carve(start, order, at, 0);
    return at;
  }

  /**
   * Takes the `count` highest free frames, highest first, as `count` calls of
   * {@link take} for one frame from the top would (each takes the highest frame left);
   * undefined, taking nothing, when fewer are free. Whole blocks go at once: the part
   * of the last block that is left is cut into maximal aligned blocks, which is what
   * carving its top frames one by one leaves.
   */
  takeTopFrames(count: number): number[] | undefined {
    if (count > this.#count) return undefined;
    const out: number[] = [];
    let limit = this.nrFrames;
    while (out.length < count) {
      const start = this.#starts.prev(limit - 1);
      const order = this.#orderAt(start);
      const end = start + 2 ** order;
      const n = Math.min(count - out.length, 2 ** order);
      for (let f = end - 1; f >= end - n; f--) out.push(f);
      this.#removeBlock(start, order);
      this.#addBlocks(start, end - n);
      this.#count -= n;
      limit = start;
    }
    return out;
  }

  /** The order of the free block that starts at frame `start`. */
  #orderAt(start: number): number {
    // Frames are below 2^30 (MAX_FRAMES): 32-bit operations are right for them.
    let order = 0;
    while ((start & ((1 << order) - 1)) === 0 && order <= this.maxOrder) {
      if (this.#free[order].has(start >>> order)) return order;
      order++;
    }
    throw new LabError(msg`Free block start ${addr(start)} has no block`, "bug");
  }

  /** Takes the free frames `[mfn, end)` (every one of them must be free). */
  claim(mfn: number, end: number): void {
    let p = mfn;
    while (p < end) {
      const [start, order] = this.#blockContaining(p);
      const blockEnd = start + 2 ** order;
      this.#removeBlock(start, order);
      this.#addBlocks(start, p);
      const stop = Math.min(end, blockEnd);
      this.#addBlocks(stop, blockEnd);
      p = stop;
    }
    this.#count -= end - mfn;
  }

  /** The free block that contains frame `f` (which must be free). */
  #blockContaining(f: number): [number, number] {
    for (let j = 0; j <= this.maxOrder; j++) {
      const b = Math.floor(f / 2 ** j);
      if (this.#free[j].has(b)) return [b * 2 ** j, j];
    }
    throw new LabError(msg`Frame ${addr(f)} is marked free but lies in no free block`, "bug");
  }

  /** Splits free block (start, order) down to the order-`want` extent at `at`, which is taken. */
  #carve(start: number, order: number, at: number, want: number): void {
    this.#removeBlock(start, order);
    while (order > want) {
      order--;
      const half = 2 ** order;
      if (at < start + half) {
        this.#insertBlock(start + half, order);
      } else {
        this.#insertBlock(start, order);
        start += half;
      }
    }
    this.#count -= 2 ** want;
  }

  /** Frees [from, to) as maximal aligned blocks, each coalesced with free buddies. */
  addFreeRange(from: number, to: number): void {
    let p = from;
    while (p < to) {
      const order = this.#largestAlignedOrder(p, to);
      this.#coalesce(p, order);
      this.#count += 2 ** order;
      p += 2 ** order;
    }
  }

  /**
   * Adds [from, to) as maximal aligned blocks without coalescing: used for the left-over
   * pieces of a block split by {@link claim}, whose buddies are inside the claimed run.
   */
  #addBlocks(from: number, to: number): void {
    let p = from;
    while (p < to) {
      const order = this.#largestAlignedOrder(p, to);
      this.#insertBlock(p, order);
      p += 2 ** order;
    }
  }

  #largestAlignedOrder(p: number, to: number): number {
    let order = 0;
    while (
      order < this.maxOrder && p % 2 ** (order + 1) === 0 && p + 2 ** (order + 1) <= to
    ) order++;
    return order;
  }

  /** Inserts block (start, order), merging with its buddy while the buddy is free. */
  #coalesce(start: number, order: number): void {
    while (order < this.maxOrder) {
      const size = 2 ** order;
      const buddy = (start / size) % 2 === 0 ? start + size : start - size;
      if (buddy + size > this.nrFrames || !this.#free[order].has(buddy / size)) break;
      this.#removeBlock(buddy, order);
      start = Math.min(start, buddy);
      order++;
    }
    this.#insertBlock(start, order);
  }

  #insertBlock(start: number, order: number): void {
    this.#free[order].add(start / 2 ** order);
    this.#starts.add(start);
  }

  #removeBlock(start: number, order: number): void {
    this.#free[order].delete(start / 2 ** order);
    this.#starts.delete(start);
  }
}
