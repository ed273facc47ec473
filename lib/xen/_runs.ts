/**
 * A table of one small whole number per frame (or per guest page) that costs memory
 * only where its entries stop following runs: the machine's owner and m2p tables and a
 * guest's p2m (SPEC §4: the machine is sparse, "a 16 GiB machine must start instantly",
 * and so must a 2 TiB guest on a 4 TiB one).
 *
 * The index space is cut into chunks of 4096 entries. A chunk is either *flat* — two
 * numbers describe all of it: the entry at its first index and a step of 0 (every entry
 * the same: an owner) or 1 (each entry one more than the last: a p2m or m2p run) — or
 * *dense*, a Uint32Array of its own, made the first time an assignment covers only part
 * of the chunk or breaks its run. An assignment that covers a whole chunk makes it flat
 * again. So building a contiguous guest costs a few numbers per 16 MiB, a fragmented
 * one (runs of 1–64 pages) about what a plain array did, and a lookup is O(1) with no
 * allocation either way.
 *
 * Indices are frame or page numbers (< 2^30), never addresses, so `>>>` and `&` are
 * right here (DESIGN.md "Numbers"). Entries are below 2^32.
 *
 * @module
 */

/** log2 of the entries per chunk: 4096 frames, 16 MiB of memory. */
const CHUNK_SHIFT = 12;
/** Entries per chunk. */
const CHUNK = 2 ** CHUNK_SHIFT;
const OFFSET_MASK = CHUNK - 1;
/** The dense slot of a flat chunk: one shared empty array keeps the chunk list monomorphic. */
const FLAT = new Uint32Array(0);
/** The run-end slot of a chunk whose run ends are not worked out (or are stale). */
const NO_ENDS = new Uint16Array(0);

/**
 * One whole number per index over `[0, size)`, stored as flat or dense chunks.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RunTable } from "./_runs.ts";
 * const t = new RunTable(2 ** 30); // a 4 TiB machine's worth of frames, instantly
 * t.fillRising(2 ** 29, 2 ** 30, 7); // entry i = 7 + (i - 2^29)
 * assertEquals([t.get(2 ** 29), t.get(2 ** 30 - 1), t.get(5)], [7, 7 + 2 ** 29 - 1, 0]);
 * assertEquals(t.denseChunks, 0, "whole chunks stay flat");
 * t.set(2 ** 29 + 3, 100); // one entry off its run: that chunk alone becomes an array
 * assertEquals([t.denseChunks, t.runEnd(2 ** 29, 1)], [1, 2 ** 29 + 3]);
 * ```
 */
export class RunTable {
  /** Number of entries. */
  readonly size: number;
  /** Flat chunk: the entry at the chunk's first index. */
  readonly #base: Float64Array;
  /** Flat chunk: 0 = every entry equal, 1 = each entry one more than the one before. */
  readonly #step: Uint8Array;
  /** Dense chunk: its entries; {@link FLAT} for a flat chunk. */
  readonly #dense: Uint32Array[];
  /**
   * Dense chunk: for each entry, the index in the chunk where its rising run (step 1)
   * ends, worked out the first time {@link runEnd} crosses the chunk and dropped on
   * every write to it. A contiguity check of a 256 KiB buffer on a fragmented p2m is
   * then one look, not 64 (the PV fast path asks it on every map, SPEC §7).
   */
  readonly #ends: Uint16Array[];
  #denseCount = 0;

  /** A table of `size` entries, all `value`. */
  constructor(size: number, value = 0) {
    this.size = size;
    const chunks = Math.ceil(size / CHUNK);
    this.#base = new Float64Array(chunks);
    if (value !== 0) this.#base.fill(value);
    this.#step = new Uint8Array(chunks);
    this.#dense = new Array<Uint32Array>(chunks).fill(FLAT);
    this.#ends = new Array<Uint16Array>(chunks).fill(NO_ENDS);
  }

  /**
   * A table holding `values`, for a p2m built page by page (the fragmented and reverse
   * layouts): a chunk that is one run becomes flat, any other keeps a view of `values`
   * (no copy), so the table costs what the array did and no more. Takes `values` over.
   */
  static fromArray(values: Uint32Array): RunTable {
    const t = new RunTable(values.length);
    for (let c = 0; c * CHUNK < values.length; c++) {
      const start = c * CHUNK;
      const part = values.subarray(start, Math.min(start + CHUNK, values.length));
      const step = part.length > 1 && part[1] === part[0] + 1 ? 1 : 0;
      let k = 1;
      while (k < part.length && part[k] === part[0] + step * k) k++;
      t.#base[c] = part[0];
      t.#step[c] = step;
      if (k < part.length) {
        t.#dense[c] = part;
        t.#denseCount++;
      }
    }
    return t;
  }

  /** Chunks that hold an array of their own (memory use, for tests and benchmarks). */
  get denseChunks(): number {
    return this.#denseCount;
  }

  /** The entry at `i` (0 ≤ i < size; the caller checks). */
  get(i: number): number {
    const c = i >>> CHUNK_SHIFT;
    const d = this.#dense[c];
    if (d !== FLAT) return d[i & OFFSET_MASK];
    return this.#base[c] + this.#step[c] * (i & OFFSET_MASK);
  }

  /** Sets the entry at `i`; a flat chunk that already holds `value` there stays flat. */
  set(i: number, value: number): void {
    if (this.get(i) === value) return;
    const c = i >>> CHUNK_SHIFT;
    this.#densify(c)[i & OFFSET_MASK] = value;
    this.#ends[c] = NO_ENDS;
  }

  /**
   * Sets entry `at[k]` to `first + k` for every k: the m2p of a p2m given page by page
   * (`at` holds the mfns, `first` the first pfn's m2p value). One store per page; every
   * chunk it touches becomes an array (pages 1–64 long runs break every chunk anyway).
   * Throws a RangeError, before storing anything, when an index is not in the table.
   */
  scatterRising(at: Uint32Array, first: number): void {
    const n = at.length;
    const top = largest(at);
    if (top >= this.size) {
      throw new RangeError(`Index ${top} is outside a table of ${this.size} entries`);
    }
    let chunk = -1;
    let d: Uint32Array = FLAT;
    for (let k = 0; k < n; k++) {
      const i = at[k];
      if (i >>> CHUNK_SHIFT !== chunk) {
        chunk = i >>> CHUNK_SHIFT;
        d = this.#densify(chunk);
        this.#ends[chunk] = NO_ENDS;
      }
      d[i & OFFSET_MASK] = first + k;
    }
  }

  /** Sets every entry of `[from, to)` to `value`. */
  fill(from: number, to: number, value: number): void {
    this.#assign(from, to, value, 0);
  }

  /** Sets entry `i` of `[from, to)` to `first + (i - from)`: one run. */
  fillRising(from: number, to: number, first: number): void {
    this.#assign(from, to, first, 1);
  }

  /**
   * The end of the run that starts at `i`: the first index j > i whose entry is not
   * `get(i) + step * (j - i)`, or `limit` (at most `size`) if the run gets that far.
   * Step 0 follows equal entries (an owner's frames), step 1 rising ones (a p2m
   * contiguity run). O(chunks + dense entries passed), so callers bound it.
   */
  runEnd(i: number, step: 0 | 1, limit: number = this.size): number {
    const first = this.get(i);
    const size = Math.min(limit, this.size);
    let j = i + 1;
    while (j < size) {
      const c = j >>> CHUNK_SHIFT;
      const start = c * CHUNK;
      const end = Math.min(start + CHUNK, size);
      const d = this.#dense[c];
      if (d === FLAT) {
        if (this.#base[c] + this.#step[c] * (j - start) !== first + step * (j - i)) return j;
        // A flat chunk with the other step matches at most at its one entry j.
        if (this.#step[c] !== step && j + 1 < end) return j + 1;
        j = end;
      } else if (step === 1) {
        // Once entry j continues the run, the chunk's own run ends say how far it goes.
        if (d[j - start] !== first + (j - i)) return j;
        const stop = start + this.#runEnds(c)[j - start];
        if (stop < end) return stop;
        j = end;
      } else {
        for (; j < end; j++) if (d[j - start] !== first + step * (j - i)) return j;
      }
    }
    return size;
  }

  /** The run ends of dense chunk `c` (see {@link #ends}), worked out when missing. */
  #runEnds(c: number): Uint16Array {
    const have = this.#ends[c];
    if (have !== NO_ENDS) return have;
    const d = this.#dense[c];
    const n = d.length;
    const ends = new Uint16Array(n);
    ends[n - 1] = n;
    for (let k = n - 2; k >= 0; k--) ends[k] = d[k + 1] === d[k] + 1 ? ends[k + 1] : k + 1;
    this.#ends[c] = ends;
    return ends;
  }

  /**
   * The smallest and the largest entry of `[from, to)` (from < to): a flat chunk is
   * looked at once, a dense one entry by entry.
   */
  bounds(from: number, to: number): { min: number; max: number } {
    const out = new Float64Array(2);
    this.boundsInto(from, to, out);
    return { min: out[0], max: out[1] };
  }

  /**
   * {@link bounds} into `out` (`out[0]` the smallest, `out[1]` the largest), allocating
   * nothing: the bounce copy asks it on every call.
   */
  boundsInto(from: number, to: number, out: Float64Array): void {
    let min = Infinity;
    let max = -Infinity;
    for (let c = from >>> CHUNK_SHIFT; c * CHUNK < to; c++) {
      const start = c * CHUNK;
      const lo = Math.max(from, start) - start;
      const hi = Math.min(to, start + CHUNK) - start;
      const d = this.#dense[c];
      if (d === FLAT) {
        const first = this.#base[c] + this.#step[c] * lo;
        const last = this.#base[c] + this.#step[c] * (hi - 1);
        if (first < min) min = first;
        if (last > max) max = last;
      } else {
        for (let k = lo; k < hi; k++) {
          const v = d[k];
          if (v < min) min = v;
          if (v > max) max = v;
        }
      }
    }
    out[0] = min;
    out[1] = max;
  }

  /**
   * The start of the run that ends at `i`: the lowest index j ≤ i such that every entry
   * of `[j, i]` is `get(i) - step * (i - k)` at k, or `floor` if the run gets that far.
   * The mirror of {@link runEnd}, for searches from the top of memory down (SPEC §4: Xen
   * builds guests from the top).
   */
  runStart(i: number, step: 0 | 1, floor = 0): number {
    const last = this.get(i);
    let j = i - 1;
    while (j >= floor) {
      const c = j >>> CHUNK_SHIFT;
      const start = c * CHUNK;
      const d = this.#dense[c];
      if (d === FLAT) {
        if (this.#base[c] + this.#step[c] * (j - start) !== last - step * (i - j)) return j + 1;
        if (this.#step[c] !== step && j - 1 >= start) return j;
        j = start - 1;
      } else {
        for (; j >= start && j >= floor; j--) {
          if (d[j - start] !== last - step * (i - j)) return j + 1;
        }
      }
    }
    return floor;
  }

  /** Entry i of `[from, to)` becomes `value + step * (i - from)`. */
  #assign(from: number, to: number, value: number, step: 0 | 1): void {
    if (from >= to) return;
    const size = this.size;
    for (let c = from >>> CHUNK_SHIFT; c * CHUNK < to; c++) {
      const start = c * CHUNK;
      const end = Math.min(start + CHUNK, size);
      const lo = Math.max(from, start);
      const hi = Math.min(to, end);
      const v = value + step * (lo - from);
      this.#ends[c] = NO_ENDS;
      if (lo === start && hi === end) {
        if (this.#dense[c] !== FLAT) {
          this.#dense[c] = FLAT;
          this.#denseCount--;
        }
        this.#base[c] = v;
        this.#step[c] = step;
      } else {
        const d = this.#densify(c);
        if (step === 0) d.fill(v, lo - start, hi - start);
        else for (let k = lo - start; k < hi - start; k++) d[k] = v + k - (lo - start);
      }
    }
  }

  /** The array of chunk `c`, made from its flat description the first time. */
  #densify(c: number): Uint32Array {
    const have = this.#dense[c];
    if (have !== FLAT) return have;
    const d = new Uint32Array(CHUNK);
    const base = this.#base[c];
    if (this.#step[c] === 0) {
      if (base !== 0) d.fill(base);
    } else {
      for (let k = 0; k < CHUNK; k++) d[k] = base + k;
    }
    this.#dense[c] = d;
    this.#denseCount++;
    return d;
  }
}

/**
 * The largest entry of `a` (0 when empty). Its own function: a loop before the store
 * loop in one function leaves the second loop without type feedback when the first is
 * optimised on stack, and the optimised code then deoptimises on every call.
 */
function largest(a: Uint32Array): number {
  let top = 0;
  for (let k = 0; k < a.length; k++) if (a[k] > top) top = a[k];
  return top;
}
