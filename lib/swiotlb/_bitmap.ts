/**
 * The free list as a used-slot bitmap (SPEC §3), for as long as the counters are a pure
 * function of it: while no undefined behaviour has happened, `io_tlb_list[i]` is 0 for a
 * used slot and otherwise the distance from i to the next used slot or to the end of
 * i's 128-slot segment, whichever is nearer. So a map sets the bits of its slots and an
 * unmap clears them — a few words, where the kernel rewrites up to two segments of
 * counters — and the counters are written out per segment only when someone reads them.
 *
 * A short last segment (SPEC §5 step 4) still counts to its 128-slot end: the bits past
 * nslabs exist and stay clear, which is what the kernel's counters say of those slots.
 *
 * Each segment also keeps an upper bound on its longest free run. A search skips every
 * segment whose bound is below the request — in a nearly full pool, most of them — and
 * tightens a bound when a whole segment was scanned in vain. The probes and boundary
 * skips the kernel would have counted over the skipped indexes are counted in closed
 * form, so the search reports exactly what the kernel's one-index-at-a-time walk does.
 *
 * @module
 */

import { IO_TLB_SEGSIZE } from "../addr.ts";
import type { MapOutcome } from "./types.ts";

/** Index of the lowest set bit of a non-zero 32-bit word. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Bits b…b+k-1 of a word (1 ≤ k ≤ 32 - b). */
function bitsOf(b: number, k: number): number {
  return k === 32 ? -1 : ((1 << k) - 1) << b;
}

/**
 * How many of the stride-aligned indexes in [a, b) a mapping of `nslots` at them would
 * make cross a multiple of `maxSlots` (iommu_is_span_boundary in slot units: index i
 * crosses when `((offsetSlots + i) mod maxSlots) + nslots > maxSlots`).
 */
export function countCrossing(
  a: number,
  b: number,
  stride: number,
  nslots: number,
  offsetSlots: number,
  maxSlots: number,
): number {
  if (b <= a || nslots <= 1) return 0;
  const m = maxSlots;
  const aligned = stride === 1 ? b - a : ((b + 1) >> 1) - (a >> 1);
  if (nslots > m) return aligned;
  // The residues (offsetSlots + i) mod m that cross: [lo, m - 1].
  const lo = m - nslots + 1;
  // Of the integers in [0, n), how many have a residue mod `mod` of at least `from`.
  const upTo = (n: number, mod: number, from: number) =>
    Math.floor(n / mod) * (mod - from) + Math.max(0, (n % mod) - from);
  if (stride === 1) return upTo(offsetSlots + b, m, lo) - upTo(offsetSlots + a, m, lo);
  if (m % 2 === 0) {
    // i = 2t: offsetSlots + 2t = 2(u + t) + p has residue 2((u + t) mod m/2) + p.
    const p = offsetSlots % 2, u = (offsetSlots - p) / 2, half = m / 2;
    const from = Math.ceil((lo - p) / 2);
    if (from >= half) return 0;
    const ta = a >> 1, tb = (b + 1) >> 1;
    return upTo(u + tb, half, from) - upTo(u + ta, half, from);
  }
  // An odd span with stride 2 (only a mask that is not 2^n - 1 gives one): one by one.
  let n = 0;
  for (let i = a; i < b; i += 2) if (((offsetSlots + i) % m) + nslots > m) n++;
  return n;
}

/** The used-slot bitmap with per-segment bounds, and the kernel's search over it. */
export class SlotBitmap {
  readonly nslabs: number;
  /** Bit i of word i >> 5: slot i in use. Four words a segment, the last one whole. */
  readonly words: Int32Array;
  /** Per segment, at least its longest free run (exact after a scan in vain). */
  readonly longest: Uint8Array;
  /** The last (offsetSlots, maxSlots) searched with, and how many slots fit before the
   * first boundary the pool's last index could cross. */
  #offsetSlots = NaN;
  #maxSlots = NaN;
  #room = 0;

  constructor(nslabs: number) {
    this.nslabs = nslabs;
    const nseg = Math.ceil(nslabs / IO_TLB_SEGSIZE);
    this.words = new Int32Array(nseg * 4);
    this.longest = new Uint8Array(nseg).fill(IO_TLB_SEGSIZE);
  }

  /** The first used slot in [i, segEnd), or segEnd. */
  nextUsed(i: number, segEnd: number): number {
    if (i >= segEnd) return segEnd;
    const words = this.words;
    let w = i >> 5;
    let bits = words[w] & (-1 << (i & 31));
    const wEnd = segEnd >> 5;
    while (bits === 0) {
      if (++w === wEnd) return segEnd;
      bits = words[w];
    }
    return (w << 5) + ctz(bits);
  }

  /** The first free slot in [i, segEnd), or segEnd. */
  nextFree(i: number, segEnd: number): number {
    if (i >= segEnd) return segEnd;
    const words = this.words;
    let w = i >> 5;
    let bits = ~words[w] & (-1 << (i & 31));
    const wEnd = segEnd >> 5;
    while (bits === 0) {
      if (++w === wEnd) return segEnd;
      bits = ~words[w];
    }
    return (w << 5) + ctz(bits);
  }

  /** The last used slot in [segStart, i), or segStart - 1. */
  prevUsed(i: number, segStart: number): number {
    if (i === segStart) return segStart - 1;
    const words = this.words;
    let w = (i - 1) >> 5;
    let bits = words[w] & (-1 >>> (31 - ((i - 1) & 31)));
    const wStart = segStart >> 5;
    while (bits === 0) {
      if (w === wStart) return segStart - 1;
      bits = words[--w];
    }
    return (w << 5) + 31 - Math.clz32(bits);
  }

  /** Are slots [a, end) all free (one segment)? */
  #allFree(a: number, end: number): boolean {
    const words = this.words;
    for (let i = a; i < end;) {
      const b = i & 31, k = Math.min(32 - b, end - i);
      if ((words[i >> 5] & bitsOf(b, k)) !== 0) return false;
      i += k;
    }
    return true;
  }

  /** Map step 5: slots [index, index + nslots) of one segment are in use now. */
  take(index: number, nslots: number): void {
    const words = this.words;
    const end = index + nslots;
    for (let i = index; i < end;) {
      const b = i & 31, k = Math.min(32 - b, end - i);
      words[i >> 5] |= bitsOf(b, k);
      i += k;
    }
    // The segment's bound stays an upper bound: its runs only got shorter.
  }

  /**
   * Unmap: slots [index, index + nslots) of one segment are free again. Returns the
   * length of the free run they join (the counter the kernel's merge ends on) when
   * `wantRun` or when the segment's bound needs it, else -1.
   */
  give(index: number, nslots: number, wantRun: boolean): number {
    const words = this.words;
    const end = index + nslots;
    for (let i = index; i < end;) {
      const b = i & 31, k = Math.min(32 - b, end - i);
      words[i >> 5] &= ~bitsOf(b, k);
      i += k;
    }
    const j = index >> 7;
    // A bound at a whole segment cannot grow: the run need not be measured.
    if (!wantRun && this.longest[j] === IO_TLB_SEGSIZE) return -1;
    // The run they join: from after the used slot on their left to the next used one.
    const segStart = j << 7;
    const run = this.nextUsed(end, segStart + IO_TLB_SEGSIZE) - this.prevUsed(index, segStart) -
      1;
    if (run > this.longest[j]) this.longest[j] = run;
    return run;
  }

  /** Writes the io_tlb_list counters of segment j into `list`. */
  counters(j: number, list: Int32Array): void {
    const nslabs = this.nslabs;
    const words = this.words;
    const w0 = j << 2;
    let count = 0;
    for (let w = w0 + 3; w >= w0; w--) {
      const bits = words[w];
      const base = w << 5;
      if (bits === 0 && base + 32 <= nslabs) {
        for (let i = base + 31; i >= base; i--) list[i] = ++count;
        continue;
      }
      for (let b = 31; b >= 0; b--) {
        count = (bits >>> b) & 1 ? 0 : count + 1;
        if (base + b < nslabs) list[base + b] = count;
      }
    }
  }

  /**
   * Map steps 3–4 over the bitmap: the index the kernel's search over io_tlb_list would
   * take (-1 when it would come back to its start), with its probes and boundary skips
   * in `out`.
   */
  search(
    hint: number,
    nslots: number,
    stride: number,
    offsetSlots: number,
    maxSlots: number,
    out: MapOutcome,
  ): number {
    const nslabs = this.nslabs;
    // Strides are 1 and 2 (SPEC §3 step 3): integer forms of align_up and the division.
    let start = stride === 1 ? hint : (hint + 1) & ~1;
    if (start >= nslabs) start = 0;
    // Stride-aligned indexes in the pool: a failed search probes each once.
    const total = stride === 1 ? nslabs : (nslabs + 1) >> 1;
    // No index of the pool can cross a boundary when the last one cannot (SPEC §3 step 4).
    // (offsetSlots mod maxSlots is a float modulo: kept for the device's pair.)
    if (offsetSlots !== this.#offsetSlots || maxSlots !== this.#maxSlots) {
      this.#offsetSlots = offsetSlots;
      this.#maxSlots = maxSlots;
      this.#room = maxSlots - (offsetSlots % maxSlots) - (nslabs - 1);
    }
    const binds = nslots > this.#room;
    // Most maps of a pool that is not full fit right at the hint: one probe.
    if (!binds && (start & (IO_TLB_SEGSIZE - 1)) + nslots <= IO_TLB_SEGSIZE) {
      if (this.#allFree(start, start + nslots)) {
        out.probes = 1;
        out.boundarySkips = 0;
        return start;
      }
    }
    let found = -1;
    if (nslots <= IO_TLB_SEGSIZE && !(binds && nslots > maxSlots)) {
      found = this.#scan(start, nslabs, nslots, stride, binds, offsetSlots, maxSlots);
      if (found < 0 && start > 0) {
        found = this.#scan(0, start, nslots, stride, binds, offsetSlots, maxSlots);
      }
    }
    // Probes and boundary skips over the indexes the kernel would have visited: from
    // start up to found (or all of them), wrapping at nslabs.
    let probes: number;
    let skips = 0;
    if (found < 0) {
      probes = total;
      if (binds) skips = countCrossing(0, nslabs, stride, nslots, offsetSlots, maxSlots);
    } else if (found >= start) {
      probes = (stride === 1 ? found - start : (found - start) >> 1) + 1;
      if (binds) skips = countCrossing(start, found, stride, nslots, offsetSlots, maxSlots);
    } else {
      probes = total - (stride === 1 ? start - found : (start - found) >> 1) + 1;
      if (binds) {
        skips = countCrossing(start, nslabs, stride, nslots, offsetSlots, maxSlots) +
          countCrossing(0, found, stride, nslots, offsetSlots, maxSlots);
      }
    }
    out.probes = probes;
    out.boundarySkips = skips;
    return found;
  }

  /** The first fitting, non-crossing, stride-aligned index in [lo, hi), or -1. */
  #scan(
    lo: number,
    hi: number,
    nslots: number,
    stride: number,
    binds: boolean,
    offsetSlots: number,
    maxSlots: number,
  ): number {
    const longest = this.longest;
    let i = lo;
    while (i < hi) {
      const j = i >> 7;
      const segStart = j << 7;
      const segEnd = segStart + IO_TLB_SEGSIZE;
      if (longest[j] >= nslots) {
        const candEnd = hi < segEnd ? hi : segEnd;
        let p = i;
        let most = 0;
        while (p < candEnd) {
          const free = this.nextFree(p, segEnd);
          if (free >= candEnd) break;
          const q = this.nextUsed(free, segEnd);
          if (q - free > most) most = q - free;
          // The run [free, q): its stride-aligned indexes that leave nslots before q.
          let c = stride === 1 ? free : (free + 1) & ~1;
          const last = Math.min(q - nslots, candEnd - 1);
          if (binds) {
            while (c <= last) {
              const r = (offsetSlots + c) % maxSlots;
              if (r + nslots <= maxSlots) break;
              // Past the crossing stretch: to the next multiple of maxSlots.
              const step = maxSlots - r;
              if (c + step > last) {
                c = last + 1;
                break;
              }
              c += step;
              if (stride === 2) c = (c + 1) & ~1;
            }
          }
          if (c <= last) return c;
          p = q + 1;
        }
        // A whole segment scanned in vain: its bound becomes exact.
        if (i === segStart && candEnd === segEnd) longest[j] = most;
      }
      i = segEnd;
    }
    return -1;
  }
}
