/**
 * The faithful policy's trapped accesses to io_tlb_list: an index the kernel computes
 * outside the pool reads as 0 and its writes are dropped (SPEC §3). Only a count and the
 * lowest and highest index are kept, so any size stays bounded, and they are cleared per
 * call so one call never reports another's.
 *
 * @module
 */

/** The out-of-bounds accesses of the current call. */
export class Traps {
  count = 0;
  lo = 0;
  hi = 0;

  /** Forgets every trap (a new call starts). */
  reset(): void {
    this.count = 0;
  }

  /** Counts `n` trapped accesses to indices lo…hi. */
  trap(n: number, lo: number, hi: number): void {
    if (this.count === 0) {
      this.lo = lo;
      this.hi = hi;
    } else {
      this.lo = Math.min(this.lo, lo);
      this.hi = Math.max(this.hi, hi);
    }
    this.count += n;
  }

  /** io_tlb_list[i], or a trapped read (0). */
  get(list: Int32Array, nslabs: number, i: number): number {
    if (i >= 0 && i < nslabs) return list[i];
    this.trap(1, i, i);
    return 0;
  }

  /** io_tlb_list[i] = v, or a trapped (dropped) write. */
  set(list: Int32Array, nslabs: number, i: number, v: number): void {
    if (i >= 0 && i < nslabs) list[i] = v;
    else this.trap(1, i, i);
  }

  /** The one UB line for all of this call's traps, then cleared; null when none. */
  take(call: string, nslabs: number): string | null {
    if (this.count === 0) return null;
    const text =
      `${call}: ${this.count} access(es) to io_tlb_list[${this.lo}…${this.hi}] outside the ${nslabs}-slot pool (trapped: reads as 0, writes dropped)`;
    this.reset();
    return text;
  }
}
