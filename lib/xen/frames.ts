/**
 * The contents of machine memory, stored sparsely: only frames that were written cost
 * memory, so a 16 GiB machine starts instantly (SPEC §4). Moved out of the machine.
 *
 * @module
 */

import { formatHex, formatSize, PAGE_SIZE } from "../addr.ts";
import { LabError } from "../errors.ts";

/** Frame contents of a machine of `bytes` bytes. */
export class FrameStore {
  /** Machine memory in bytes. */
  readonly bytes: number;
  /** Written frames only (sparse contents). */
  readonly #frames = new Map<number, Uint8Array>();

  constructor(bytes: number) {
    this.bytes = bytes;
  }

  /** Reads `len` bytes at machine address `maddr`; unwritten frames read as zeros. */
  read(maddr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.readInto(maddr, out, 0, len);
    return out;
  }

  /**
   * Reads `len` bytes at `maddr` into `out` from index `at`, without allocating: the
   * bounce path copies through here page by page (unwritten frames read as zeros).
   */
  readInto(maddr: number, out: Uint8Array, at: number, len: number): void {
    this.#checkRange(maddr, len, "read");
    let done = 0;
    while (done < len) {
      const a = maddr + done;
      const mfn = Math.floor(a / PAGE_SIZE);
      const off = a - mfn * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - off);
      const frame = this.#frames.get(mfn);
      if (frame) out.set(frame.subarray(off, off + n), at + done);
      else out.fill(0, at + done, at + done + n);
      done += n;
    }
  }

  /** Writes `bytes` at machine address `maddr`, across frame boundaries. */
  write(maddr: number, bytes: Uint8Array): void {
    this.#checkRange(maddr, bytes.length, "write");
    let done = 0;
    while (done < bytes.length) {
      const a = maddr + done;
      const mfn = Math.floor(a / PAGE_SIZE);
      const off = a - mfn * PAGE_SIZE;
      const n = Math.min(bytes.length - done, PAGE_SIZE - off);
      let frame = this.#frames.get(mfn);
      if (!frame) {
        frame = new Uint8Array(PAGE_SIZE);
        this.#frames.set(mfn, frame);
      }
      frame.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  /**
   * Copies `len` bytes from `srcMaddr` to `dstMaddr` (overlap-safe, as memmove). Frame to
   * frame, in pieces bounded by both frame grids, with no temporary: the bounce path
   * (swiotlb_bounce) runs through here. Overlapping ranges are read whole first, so a
   * piece never reads bytes an earlier piece wrote. An unwritten source frame reads as
   * zeros and its destination frame is made, as a write of those zeros would make it.
   */
  copy(dstMaddr: number, srcMaddr: number, len: number): void {
    this.#checkRange(srcMaddr, len, "read");
    this.#checkRange(dstMaddr, len, "write");
    if (dstMaddr < srcMaddr + len && srcMaddr < dstMaddr + len) {
      this.write(dstMaddr, this.read(srcMaddr, len));
      return;
    }
    const frames = this.#frames;
    let done = 0;
    while (done < len) {
      const s = srcMaddr + done;
      const d = dstMaddr + done;
      const smfn = Math.floor(s / PAGE_SIZE);
      const dmfn = Math.floor(d / PAGE_SIZE);
      const so = s - smfn * PAGE_SIZE;
      const dof = d - dmfn * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - so, PAGE_SIZE - dof);
      let to = frames.get(dmfn);
      if (to === undefined) {
        to = new Uint8Array(PAGE_SIZE);
        frames.set(dmfn, to);
      }
      const from = frames.get(smfn);
      // A whole frame needs no view of it; a part of one does.
      if (from !== undefined) to.set(n === PAGE_SIZE ? from : from.subarray(so, so + n), dof);
      else to.fill(0, dof, dof + n);
      done += n;
    }
  }

  /** Zeroes `len` bytes at `maddr`; whole frames go back to costing nothing. */
  zero(maddr: number, len: number): void {
    this.#checkRange(maddr, len, "zero");
    if (this.#frames.size === 0) return; // nothing written: nothing to forget
    let done = 0;
    while (done < len) {
      const a = maddr + done;
      const mfn = Math.floor(a / PAGE_SIZE);
      const off = a - mfn * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - off);
      if (n === PAGE_SIZE) this.#frames.delete(mfn);
      else this.#frames.get(mfn)?.fill(0, off, off + n);
      done += n;
    }
  }

  /** Number of frames that hold a buffer (were written and not zeroed whole). */
  get resident(): number {
    return this.#frames.size;
  }

  #checkRange(maddr: number, len: number, what: string): void {
    if (
      !Number.isInteger(maddr) || !Number.isInteger(len) || maddr < 0 || len < 0 ||
      maddr + len > this.bytes
    ) {
      throw new LabError(
        `Cannot ${what} ${len} bytes at machine address ${
          formatHex(maddr)
        }: outside machine memory (${formatSize(this.bytes)})`,
      );
    }
  }
}
