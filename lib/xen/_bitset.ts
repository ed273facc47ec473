/**
 * A set of small non-negative integers as a bitmap with summary levels, so that "the
 * lowest member ≥ i" and "the highest member ≤ i" cost O(log32 n) instead of a scan.
 * The buddy allocator keeps one per order (SPEC §4: lowest extent under a limit,
 * highest when building guests from the top).
 *
 * Indices are block numbers (< 2^31), never addresses, so 32-bit bit operations are
 * right here (DESIGN.md "Numbers").
 *
 * @module
 */

/** Index of the lowest set bit of a non-zero 32-bit word. */
function lowestBit(word: number): number {
  return 31 - Math.clz32(word & -word);
}

/** Index of the highest set bit of a non-zero 32-bit word. */
function highestBit(word: number): number {
  return 31 - Math.clz32(word);
}

/** Membership bitmap over `[0, size)` with one summary bit per non-zero word below. */
export class SummaryBitset {
  readonly size: number;
  /** levels[0] holds the members; bit w of levels[k+1] is set iff word w of levels[k] ≠ 0. */
  readonly #levels: Uint32Array[] = [];

  constructor(size: number) {
    this.size = size;
    let words = Math.max(1, Math.ceil(size / 32));
    for (;;) {
      this.#levels.push(new Uint32Array(words));
      if (words === 1) break;
      words = Math.ceil(words / 32);
    }
  }

  has(i: number): boolean {
    return (this.#levels[0][i >>> 5] & (1 << (i & 31))) !== 0;
  }

  add(i: number): void {
    for (const level of this.#levels) {
      const w = i >>> 5;
      const wasEmpty = level[w] === 0;
      level[w] |= 1 << (i & 31);
      if (!wasEmpty) return;
      i = w;
    }
  }

  delete(i: number): void {
    for (const level of this.#levels) {
      const w = i >>> 5;
      level[w] &= ~(1 << (i & 31));
      if (level[w] !== 0) return;
      i = w;
    }
  }

  /** The lowest member ≥ `from`, or -1. */
  next(from = 0): number {
    if (from >= this.size) return -1;
    return this.#next(0, Math.max(0, from));
  }

  /** The highest member ≤ `upTo`, or -1. */
  prev(upTo: number = this.size - 1): number {
    if (upTo < 0) return -1;
    return this.#prev(0, Math.min(upTo, this.size - 1));
  }

  #next(depth: number, i: number): number {
    const level = this.#levels[depth];
    const w = i >>> 5;
    if (w >= level.length) return -1;
    const here = level[w] & (~0 << (i & 31));
    if (here !== 0) return (w << 5) + lowestBit(here);
    if (depth + 1 === this.#levels.length) return -1;
    const nw = this.#next(depth + 1, w + 1);
    return nw < 0 ? -1 : (nw << 5) + lowestBit(level[nw]);
  }

  #prev(depth: number, i: number): number {
    const level = this.#levels[depth];
    const w = i >>> 5;
    const bit = i & 31;
    const here = bit === 31 ? level[w] : level[w] & ((1 << (bit + 1)) - 1);
    if (here !== 0) return (w << 5) + highestBit(here);
    if (w === 0 || depth + 1 === this.#levels.length) return -1;
    const pw = this.#prev(depth + 1, w - 1);
    return pw < 0 ? -1 : (pw << 5) + highestBit(level[pw]);
  }
}
