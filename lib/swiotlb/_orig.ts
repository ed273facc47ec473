/**
 * io_tlb_orig_addr, written lazily (SPEC §3 map step 5): a map records
 * `orig_addr[index + k] = orig + k * 2048` for each of its slots, and the next maps over
 * those slots overwrite most of it before anyone reads it. So a map writes its first
 * slot (what an unmap reads) and appends `(index, nslots, orig)` to its segment's log
 * (a one-slot map has written all it has: it only guards its slot from older maps);
 * the log is written out newest first, each slot once, when the array is read, when
 * the log is full, or for good when the core goes eager (the first undefined
 * behaviour). Every value read is the one the kernel's array would hold.
 *
 * @module
 */

import { IO_TLB_SEGSIZE, IO_TLB_SIZE } from "../addr.ts";

/** Maps logged per segment before its log is written out. */
export const LOG_PER_SEGMENT = 64;

/** Index of the lowest set bit of a non-zero 32-bit word. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** io_tlb_orig_addr with per-segment logs of the maps not yet written out. */
export class OrigAddr {
  /** The array as last written out; the first slot of every map is always current. */
  readonly #values: Float64Array;
  /** Logged maps per segment (null once eager). */
  #count: Uint8Array | null;
  readonly #start: Int32Array;
  readonly #len: Uint8Array;
  readonly #orig: Float64Array;
  /** Segments with a non-empty log. */
  readonly #pending: Int32Array;
  #pendingCount = 0;
  /** Which slots of the segment being written out are done (newer maps first). */
  readonly #done = new Int32Array(4);
  /**
   * Per segment, 4 words: slots whose newest map since the segment's last write-out is
   * a one-slot map, which wrote its slot itself and is not logged; no older map in the
   * log may overwrite them.
   */
  readonly #fresh: Int32Array;

  constructor(nslabs: number, eager: boolean) {
    this.#values = new Float64Array(nslabs);
    const nseg = Math.ceil(nslabs / IO_TLB_SEGSIZE);
    const entries = eager ? 0 : nseg * LOG_PER_SEGMENT;
    this.#count = eager ? null : new Uint8Array(nseg);
    this.#start = new Int32Array(entries);
    this.#len = new Uint8Array(entries);
    this.#orig = new Float64Array(entries);
    this.#pending = new Int32Array(eager ? 0 : nseg);
    this.#fresh = new Int32Array(eager ? 0 : nseg * 4);
  }

  /** The whole array, every log written out first: always exact. */
  get values(): Float64Array {
    if (this.#pendingCount !== 0) this.#writeAll();
    return this.#values;
  }

  /** orig_addr of a map's first slot (current without writing any log out). */
  first(index: number): number {
    return this.#values[index];
  }

  /** Map step 5: slots [index, index + nslots) came from `orig`. */
  record(index: number, nslots: number, orig: number): void {
    const values = this.#values;
    const count = this.#count;
    if (count === null) {
      // Eager: as the kernel does (a write past a short last segment is dropped).
      for (let k = 0; k < nslots; k++) values[index + k] = orig + k * IO_TLB_SIZE;
      return;
    }
    const fresh = this.#fresh;
    if (nslots === 1) {
      // Its one slot is the whole record: written now, guarded from older maps.
      values[index] = orig;
      fresh[index >> 5] |= 1 << (index & 31);
      return;
    }
    const j = index >> 7;
    let n = count[j];
    // A full log is written out before this map's first slot: older maps must not
    // overwrite it.
    if (n === LOG_PER_SEGMENT) {
      this.#writeOut(j);
      n = 0;
    } else if (n === 0) this.#pending[this.#pendingCount++] = j;
    values[index] = orig;
    // This map is newer than any one-slot map under it: the log writes those slots.
    for (let i = index, end = index + nslots; i < end;) {
      const b = i & 31, k = Math.min(32 - b, end - i);
      fresh[i >> 5] &= k === 32 ? 0 : ~(((1 << k) - 1) << b);
      i += k;
    }
    const e = j * LOG_PER_SEGMENT + n;
    this.#start[e] = index;
    this.#len[e] = nslots;
    this.#orig[e] = orig;
    count[j] = n + 1;
  }

  /** From now on every map writes all its slots (the kernel's way). */
  toEager(): void {
    if (this.#count === null) return;
    if (this.#pendingCount !== 0) this.#writeAll();
    this.#count = null;
  }

  #writeAll(): void {
    for (let k = 0; k < this.#pendingCount; k++) this.#writeOut(this.#pending[k]);
    this.#pendingCount = 0;
  }

  /** Writes segment j's log out, newest map first, each slot once; empties the log. */
  #writeOut(j: number): void {
    const count = this.#count!;
    const values = this.#values;
    const done = this.#done;
    const fresh = this.#fresh;
    const w0 = j << 2;
    for (let w = 0; w < 4; w++) {
      done[w] = fresh[w0 + w];
      fresh[w0 + w] = 0;
    }
    const first = j * LOG_PER_SEGMENT;
    for (let e = first + count[j] - 1; e >= first; e--) {
      const s = this.#start[e], end = s + this.#len[e], orig = this.#orig[e];
      for (let i = s; i < end;) {
        const b = i & 31, k = Math.min(32 - b, end - i);
        const w = i >> 5;
        const bits = k === 32 ? -1 : ((1 << k) - 1) << b;
        let todo = bits & ~done[w - w0];
        done[w - w0] |= bits;
        while (todo !== 0) {
          const slot = (w << 5) + ctz(todo);
          values[slot] = orig + (slot - s) * IO_TLB_SIZE;
          todo &= todo - 1;
        }
        i += k;
      }
      // Every slot of the segment written: the older maps are all overwritten.
      if ((done[0] & done[1] & done[2] & done[3]) === -1) break;
    }
    count[j] = 0;
  }
}
