/**
 * The contents of machine memory, stored sparsely: only frames that were written cost
 * memory, so a 16 GiB machine starts instantly (SPEC §4). Moved out of the machine.
 *
 * @module
 */

import { formatSize, PAGE_SIZE } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";

/** log2 of the frames a block of the frame table holds (4096: 16 MiB of memory). */
const BLOCK_SHIFT = 12;
const BLOCK = 1 << BLOCK_SHIFT;
const BLOCK_MASK = BLOCK - 1;

/** Frame contents of a machine of `bytes` bytes. */
export class FrameStore {
  /** Machine memory in bytes. */
  readonly bytes: number;
  /**
   * Written frames only (sparse contents), in a two-level table: 4096 frames (16 MiB) a
   * block, a block made when one of its frames is first written. Two array loads find a
   * frame — the bounce copy asks twice a page.
   */
  readonly #blocks: ((Uint8Array | undefined)[] | undefined)[];
  #resident = 0;

  constructor(bytes: number) {
    this.bytes = bytes;
    // The directory is made whole (8 bytes a block: 2 MiB for 4 TiB) so that it stays a
    // plain array, not a sparse one.
    this.#blocks = new Array(Math.ceil(bytes / PAGE_SIZE / BLOCK)).fill(undefined);
  }

  /** The contents of frame `mfn`, or undefined when it was never written (or zeroed whole). */
  #frame(mfn: number): Uint8Array | undefined {
    const block = this.#blocks[mfn >>> BLOCK_SHIFT];
    return block === undefined ? undefined : block[mfn & BLOCK_MASK];
  }

  /** The contents of frame `mfn`, made (zeros) when it was never written. */
  #frameForWrite(mfn: number): Uint8Array {
    const b = mfn >>> BLOCK_SHIFT;
    let block = this.#blocks[b];
    if (block === undefined) {
      block = new Array<Uint8Array | undefined>(BLOCK).fill(undefined);
      this.#blocks[b] = block;
    }
    let frame = block[mfn & BLOCK_MASK];
    if (frame === undefined) {
      frame = new Uint8Array(PAGE_SIZE);
      block[mfn & BLOCK_MASK] = frame;
      this.#resident++;
    }
    return frame;
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
      const frame = this.#frame(mfn);
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
      this.#frameForWrite(mfn).set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }

  /**
   * Copies `len` bytes from `srcMaddr` to `dstMaddr` (overlap-safe, as memmove). Frame to
   * frame, in pieces bounded by both frame grids, with no temporary: the bounce path
   * (swiotlb_bounce) runs through here. Overlapping ranges are read whole first, so a
   * piece never reads bytes an earlier piece wrote. An unwritten source frame reads as
   * zeros: copied over a whole frame, that frame goes back to costing nothing (as zero()
   * does), over part of one it is zero-filled if it was written, and left alone if not.
   */
  copy(dstMaddr: number, srcMaddr: number, len: number): void {
    this.#checkRange(srcMaddr, len, "read");
    this.#checkRange(dstMaddr, len, "write");
    if (dstMaddr < srcMaddr + len && srcMaddr < dstMaddr + len) {
      this.write(dstMaddr, this.read(srcMaddr, len));
      return;
    }
    let done = 0;
    while (done < len) {
      const s = srcMaddr + done;
      const d = dstMaddr + done;
      const smfn = Math.floor(s / PAGE_SIZE);
      const dmfn = Math.floor(d / PAGE_SIZE);
      const so = s - smfn * PAGE_SIZE;
      const dof = d - dmfn * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - so, PAGE_SIZE - dof);
      const from = this.#frame(smfn);
      // A whole frame needs no view of it; a part of one does.
      if (from !== undefined) {
        this.#frameForWrite(dmfn).set(n === PAGE_SIZE ? from : from.subarray(so, so + n), dof);
      } else if (n === PAGE_SIZE) {
        // Zeroes over a whole frame: it goes back to costing nothing, as zero() does (a
        // replay bouncing a never-written buffer through every slot holds no pool bytes).
        this.#forget(dmfn);
      } else this.#frame(dmfn)?.fill(0, dof, dof + n);
      done += n;
    }
  }

  /** Zeroes `len` bytes at `maddr`; whole frames go back to costing nothing. */
  zero(maddr: number, len: number): void {
    this.#checkRange(maddr, len, "zero");
    if (this.#resident === 0) return; // nothing written: nothing to forget
    let done = 0;
    while (done < len) {
      const a = maddr + done;
      const mfn = Math.floor(a / PAGE_SIZE);
      const off = a - mfn * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - off);
      if (n === PAGE_SIZE) this.#forget(mfn);
      else this.#frame(mfn)?.fill(0, off, off + n);
      done += n;
    }
  }

  /** Number of frames that hold a buffer (were written and not zeroed whole). */
  get resident(): number {
    return this.#resident;
  }

  /** Frame `mfn` goes back to costing nothing. */
  #forget(mfn: number): void {
    const block = this.#blocks[mfn >>> BLOCK_SHIFT];
    if (block === undefined || block[mfn & BLOCK_MASK] === undefined) return;
    block[mfn & BLOCK_MASK] = undefined;
    this.#resident--;
  }

  #checkRange(maddr: number, len: number, what: string): void {
    if (
      !Number.isInteger(maddr) || !Number.isInteger(len) || maddr < 0 || len < 0 ||
      maddr + len > this.bytes
    ) {
      throw new LabError(
        msg`Cannot ${what} ${len} bytes at machine address ${
          addr(maddr)
        }: outside machine memory (${formatSize(this.bytes)})`,
      );
    }
  }
}
