/**
 * Machine memory as Xen sees it (SPEC §4 "Machine"): 4 KiB frames with sparse contents,
 * an owner per frame, the global m2p table and a deterministic buddy allocator.
 *
 * Why sparse: a 16 GiB machine must start instantly, so only frames that were written
 * hold a buffer; every other frame reads as zeros. Frame contents survive a free, which
 * is what makes "new contents are undefined" (SPEC §4 XENMEM_exchange) observable.
 *
 * Why run tables: owner and m2p hold one entry per frame (2^30 of them for 4 TiB), but
 * they change in runs — a guest's extent has one owner, a contiguous guest one m2p run —
 * so they are {@link RunTable}s, which cost memory only where a 4096-frame chunk stops
 * following one run. Building a guest costs per run, not per frame (issue 11: a 2 TiB
 * guest on a 4 TiB machine is built in milliseconds, not seconds). The free sets are
 * bitmaps, zero-filled and touched only where blocks are.
 *
 * @module
 */

import { formatSize, PAGE_SHIFT, PAGE_SIZE } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import { FreeBlocks } from "./_buddy.ts";
import { RunTable } from "./_runs.ts";
import { FrameStore } from "./frames.ts";

/** Owner of a frame nobody holds. */
export const FREE = -1;
/** Xen's own domain id (DOMID_XEN): frames the hypervisor keeps for itself. */
export const DOMID_XEN = 0x7ff2;

/** The largest machine the model accepts: 2^30 frames (4 TiB) keeps block indices small. */
const MAX_FRAMES = 2 ** 30;

/** Options of {@link Machine.alloc}. */
export interface AllocOptions {
  /** The extent must lie entirely below 2^addressBits; 0 means no limit (Xen's convention). */
  addressBits?: number;
  /** Take the highest-addressed fitting extent instead of the lowest (guest building, SPEC §4). */
  fromTop?: boolean;
  /** Domain id recorded as the owner of every frame of the extent. */
  owner: number;
}

/** A run of consecutive machine frames. */
export interface FrameRun {
  mfn: number;
  count: number;
}

/** Options of the {@link Machine} constructor. */
export interface MachineOptions {
  /** Machine memory in bytes, a positive multiple of 4096. */
  bytes: number;
}

/**
 * Machine memory in frames with a buddy allocator.
 *
 * Free memory is kept, as in a buddy allocator, as maximal naturally aligned blocks: a
 * block of order k starts at a multiple of 2^k frames and its buddy (the other half of
 * the order k+1 block) is never free at the same time ({@link FreeBlocks}, in
 * lib/xen/_buddy.ts).
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { Machine } from "./machine.ts";
 * const m = new Machine({ bytes: 2 ** 34 }); // 16 GiB, constructed in milliseconds
 * const mfn = m.alloc(6, { addressBits: 32, owner: 1 }) ?? NaN; // 64 frames below 4 GiB
 * assert(mfn % 64 === 0 && (mfn + 64) * 4096 <= 2 ** 32);
 * m.write(mfn * 4096, new Uint8Array([1, 2, 3]));
 * assertEquals(m.read(mfn * 4096, 3), new Uint8Array([1, 2, 3]));
 * assertEquals(m.residentFrames, 1, "only the written frame costs memory");
 * ```
 */
export class Machine {
  /** Machine memory in bytes. */
  readonly bytes: number;
  /** Number of frames. */
  readonly nrFrames: number;
  /** The largest block order: the whole of a power-of-two machine is one block. */
  readonly maxOrder: number;

  /** owner + 1 per frame (domid_t is 16 bits), so a new all-zero table means "free". */
  readonly #owner: RunTable;
  /** m2p: pfn + 1 per frame, 0 = no entry (Xen's INVALID_M2P_ENTRY). */
  readonly #m2p: RunTable;
  /** The free blocks of the buddy allocator (lib/xen/_buddy.ts). */
  readonly #blocks: FreeBlocks;
  /** Written frames only (sparse contents). */
  readonly #frames: FrameStore;

  constructor({ bytes }: MachineOptions) {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes % PAGE_SIZE !== 0) {
      throw new LabError(
        `Cannot create a machine of ${bytes} bytes: expected a positive multiple of 4096`,
      );
    }
    const frames = bytes / PAGE_SIZE;
    if (frames > MAX_FRAMES) {
      throw new LabError(
        `Cannot create a machine of ${formatSize(bytes)}: at most ${
          formatSize(MAX_FRAMES * PAGE_SIZE)
        }`,
      );
    }
    this.bytes = bytes;
    this.nrFrames = frames;
    this.#frames = new FrameStore(bytes);
    this.maxOrder = Math.floor(Math.log2(frames));
    this.#owner = new RunTable(frames);
    this.#m2p = new RunTable(frames);
    this.#blocks = new FreeBlocks(frames, this.maxOrder);
    this.#blocks.addFreeRange(0, frames);
  }

  // ---- ownership and m2p ----------------------------------------------------------

  /** The domain id owning `mfn`, {@link FREE}, or {@link DOMID_XEN}. */
  owner(mfn: number): number {
    this.#checkMfn(mfn);
    return this.#owner.get(mfn) - 1;
  }

  /** Does `owner` hold every one of `count` frames from `mfn`? One look per owner run. */
  ownsRun(mfn: number, count: number, owner: number): boolean {
    this.#checkRun(mfn, count);
    return count === 0 ||
      (this.#owner.get(mfn) === owner + 1 &&
        this.#owner.runEnd(mfn, 0, mfn + count) >= mfn + count);
  }

  /** The m2p entry of `mfn`: the owning domain's pfn, or undefined. */
  m2p(mfn: number): number | undefined {
    this.#checkMfn(mfn);
    const v = this.#m2p.get(mfn);
    return v === 0 ? undefined : v - 1;
  }

  /**
   * The m2p entry of `mfn` when `owner` holds the frame, else undefined (also for a frame
   * outside the machine): {@link owner} and {@link m2p} in one look each, for the
   * translation every PV unmap and sync makes.
   */
  m2pIfOwner(mfn: number, owner: number): number | undefined {
    if (!(mfn >= 0 && mfn < this.nrFrames) || !Number.isInteger(mfn)) return undefined;
    if (this.#owner.get(mfn) !== owner + 1) return undefined;
    const v = this.#m2p.get(mfn);
    return v === 0 ? undefined : v - 1;
  }

  /** Sets (or with undefined clears) the m2p entry of `mfn`; only Xen does this. */
  setM2p(mfn: number, pfn: number | undefined): void {
    this.#checkMfn(mfn);
    this.#m2p.set(mfn, pfn === undefined ? 0 : pfn + 1);
  }

  /**
   * Sets the m2p entries of a whole p2m given page by page (guest build, the fragmented
   * and reverse layouts): mfn p2m[i] → pfn i, one store per page.
   */
  setM2pFromP2m(p2m: Uint32Array): void {
    try {
      this.#m2p.scatterRising(p2m, 1);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.#checkMfn(p2m.reduce((a, b) => Math.max(a, b), 0));
    }
  }

  /**
   * Sets the m2p entries of one p2m contiguity run at once (guest build): mfn + k →
   * pfn + k for k < count. A contiguous guest is one call, whatever its size.
   */
  setM2pRun(mfn: number, pfn: number, count: number): void {
    this.#checkRun(mfn, count);
    this.#m2p.fillRising(mfn, mfn + count, pfn + 1);
  }

  // ---- the buddy allocator --------------------------------------------------------

  /**
   * Allocates a naturally aligned extent of 2^order frames: the lowest-addressed one
   * entirely below 2^addressBits, or the highest with `fromTop` (SPEC §4). Returns its
   * first mfn, or undefined when no such extent is free. Deterministic: the result
   * depends only on the sequence of earlier calls.
   */
  alloc(
    order: number,
    { addressBits = 0, fromTop = false, owner }: AllocOptions,
  ): number | undefined {
    if (!Number.isInteger(order) || order < 0) {
      throw new LabError(`Cannot allocate an extent of order ${order}: expected 0 or more`);
    }
    this.#checkOwner(owner);
    if (order > this.maxOrder) return undefined;
    const size = 2 ** order;
    const limit = this.#limitFrames(addressBits);
    if (limit < size) return undefined;
    const best = this.#blocks.take(order, limit, fromTop);
    if (best < 0) return undefined;
    this.#owner.fill(best, best + size, owner + 1);
    return best;
  }

  /**
   * Allocates `count` single frames from the top of memory for `owner`, highest first:
   * the frames `count` calls of `alloc(0, { fromTop: true, owner })` return, in one
   * pass (an exchange into single frames with no address limit: every chunk a failed
   * fixup gives back, SPEC §5 step 4). Undefined, taking nothing, when fewer are free.
   */
  allocTopFrames(count: number, owner: number): number[] | undefined {
    this.#checkOwner(owner);
    const frames = this.#blocks.takeTopFrames(count);
    if (frames === undefined) return undefined;
    // The frames fall: own each run of consecutive ones with one fill.
    for (let i = 0; i < frames.length;) {
      let j = i + 1;
      while (j < frames.length && frames[j] === frames[j - 1] - 1) j++;
      this.#owner.fill(frames[j - 1], frames[i] + 1, owner + 1);
      i = j;
    }
    return frames;
  }

  /** Frees an extent allocated with {@link alloc} (or any aligned run of owned frames). */
  free(mfn: number, order: number): void {
    const size = 2 ** order;
    if (!Number.isInteger(order) || order < 0 || mfn % size !== 0) {
      throw new LabError(
        msg`Cannot free ${
          addr(mfn)
        } as an order-${order} extent: it is not aligned to ${size} frames`,
      );
    }
    this.freeRange(mfn, size);
  }

  /**
   * Frees any run of owned frames (split into aligned blocks, each coalesced with its
   * buddies). Clears their m2p entries; their contents stay (SPEC §4: undefined).
   */
  freeRange(mfn: number, count: number): void {
    this.#checkRun(mfn, count);
    // One look per owner run: the lowest free frame of the range, if any.
    const end = mfn + count;
    for (let f = mfn; f < end; f = this.#owner.runEnd(f, 0, end)) {
      if (this.#owner.get(f) === 0) {
        throw new LabError(msg`Cannot free frame ${addr(f)}: it is already free`);
      }
    }
    this.#owner.fill(mfn, end, 0);
    this.#m2p.fill(mfn, end, 0);
    this.#blocks.addFreeRange(mfn, end);
  }

  /**
   * Takes a specific run of free frames for `owner` (building a guest at given frames,
   * reserving low memory). Throws when any frame of the run is not free.
   */
  claim(mfn: number, count: number, owner: number): void {
    this.#checkOwner(owner);
    this.#checkRun(mfn, count);
    const f = this.firstTaken(mfn, count);
    if (f !== undefined) {
      const holder = this.#owner.get(f) - 1;
      throw new LabError(
        msg`Cannot claim frame ${addr(f)} for dom${owner}: it belongs to ${
          holder === DOMID_XEN ? "xen" : `dom${holder}`
        }`,
      );
    }
    const end = mfn + count;
    this.#blocks.claim(mfn, end);
    this.#owner.fill(mfn, end, owner + 1);
  }

  /** The lowest frame of `count` frames from `mfn` that is not free, or undefined. */
  firstTaken(mfn: number, count: number): number | undefined {
    this.#checkRun(mfn, count);
    if (count === 0) return undefined;
    if (this.#owner.get(mfn) !== 0) return mfn;
    const end = this.#owner.runEnd(mfn, 0, mfn + count);
    return end < mfn + count ? end : undefined;
  }

  /** Number of free frames, or of free frames below 2^belowBits. */
  freeFrames(belowBits?: number): number {
    if (belowBits === undefined || belowBits === 0) return this.#blocks.count;
    const limit = this.#limitFrames(belowBits);
    if (limit >= this.nrFrames) return this.#blocks.count;
    let n = 0;
    for (const { mfn, count } of this.freeBlocks()) {
      if (mfn >= limit) continue;
      n += Math.min(count, limit - mfn);
    }
    return n;
  }

  /** Every free block, lowest order first then by address (for tests and inspection). */
  *freeBlocks(): Generator<FrameRun> {
    for (let j = 0; j <= this.maxOrder; j++) {
      const set = this.#blocks.order(j);
      for (let b = set.next(0); b >= 0; b = set.next(b + 1)) {
        yield { mfn: b * 2 ** j, count: 2 ** j };
      }
    }
  }

  /**
   * Free frames from the top of memory down, as ascending runs, until `count` frames
   * are collected (Xen builds guests from the top, SPEC §4). Undefined when fewer are free.
   */
  topFreeRuns(count: number): FrameRun[] | undefined {
    if (count > this.#blocks.count) return undefined;
    const runs: FrameRun[] = [];
    let need = count;
    // Walk the owner table's runs down from the top: each free run gives its top
    // frames, as many as are still needed.
    for (let f = this.nrFrames - 1; need > 0 && f >= 0;) {
      const start = this.#owner.runStart(f, 0);
      if (this.#owner.get(f) === 0) {
        const take = Math.min(need, f + 1 - start);
        runs.push({ mfn: f + 1 - take, count: take });
        need -= take;
      }
      f = start - 1;
    }
    return need === 0 ? runs.reverse() : undefined;
  }

  /** The highest run of `count` consecutive free frames (its first frame), or undefined. */
  topFreeContiguous(count: number): number | undefined {
    for (let f = this.nrFrames - 1; f >= 0;) {
      const start = this.#owner.runStart(f, 0);
      if (this.#owner.get(f) === 0 && f + 1 - start >= count) return f + 1 - count;
      f = start - 1;
    }
    return undefined;
  }

  // ---- contents (lib/xen/frames.ts) -------------------------------------------------

  /** Reads `len` bytes at machine address `maddr`; unwritten frames read as zeros. */
  read(maddr: number, len: number): Uint8Array {
    return this.#frames.read(maddr, len);
  }

  /** Reads `len` bytes at `maddr` into `out` from index `at`, without allocating. */
  readInto(maddr: number, out: Uint8Array, at: number, len: number): void {
    this.#frames.readInto(maddr, out, at, len);
  }

  /** Writes `bytes` at machine address `maddr`, across frame boundaries. */
  write(maddr: number, bytes: Uint8Array): void {
    this.#frames.write(maddr, bytes);
  }

  /** Copies `len` bytes from `srcMaddr` to `dstMaddr` (overlap-safe). */
  copy(dstMaddr: number, srcMaddr: number, len: number): void {
    this.#frames.copy(dstMaddr, srcMaddr, len);
  }

  /** Zeroes `len` bytes at `maddr`; whole frames go back to costing nothing. */
  zero(maddr: number, len: number): void {
    this.#frames.zero(maddr, len);
  }

  /** Number of frames that hold a buffer (were written and not zeroed whole). */
  get residentFrames(): number {
    return this.#frames.resident;
  }

  // ---- internals --------------------------------------------------------------------

  /** 2^addressBits in frames, capped at the machine size; 0 bits = no limit. */
  #limitFrames(addressBits: number): number {
    if (!Number.isInteger(addressBits) || addressBits < 0 || addressBits > 64) {
      throw new LabError(`Cannot use an address width of ${addressBits} bits: expected 0 to 64`);
    }
    if (addressBits === 0) return this.nrFrames;
    if (addressBits < PAGE_SHIFT) return 0;
    return Math.min(this.nrFrames, 2 ** (addressBits - PAGE_SHIFT));
  }

  #checkOwner(owner: number): void {
    if (!Number.isInteger(owner) || owner < 0 || owner > DOMID_XEN) {
      throw new LabError(`Cannot give frames to owner ${owner}: expected a domain id`);
    }
  }

  #checkMfn(mfn: number): void {
    if (!Number.isInteger(mfn) || mfn < 0 || mfn >= this.nrFrames) {
      throw new LabError(
        msg`Frame ${addr(mfn)} is outside machine memory (${this.nrFrames} frames)`,
      );
    }
  }

  #checkRun(mfn: number, count: number): void {
    if (
      !Number.isInteger(mfn) || !Number.isInteger(count) || mfn < 0 || count < 0 ||
      mfn + count > this.nrFrames
    ) {
      throw new LabError(
        msg`Frames ${addr(mfn)}+${count} are outside machine memory (${this.nrFrames} frames)`,
      );
    }
  }
}
