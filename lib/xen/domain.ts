/**
 * A Xen guest (SPEC §4 "Guest"): its pseudo-physical memory, the p2m that backs each
 * guest page with a machine frame, and byte access through it.
 *
 * Guest-physical addresses start at `physBase`: 0 for every guest except an
 * identity-mapped ARM dom0, whose guest-physical addresses equal machine addresses.
 * A pfn here is always the index into the p2m, `(phys - physBase) / 4096`, and the m2p
 * entry Xen keeps for a frame is that index.
 *
 * @module
 */

import { PAGE_SIZE } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import type { PhysMemory } from "../memory.ts";
import { GuestAllocator } from "./_guest_alloc.ts";
import type { RunTable } from "./_runs.ts";
import type { FrameRun, Machine } from "./machine.ts";

/** CPU architecture of a guest; it decides the contiguous-region helpers (SPEC §4, §7). */
export type Arch = "x86" | "arm";

/** Initial placement of a guest's pages in machine memory (SPEC §4 "Guest"). */
export type DomainLayout = "contiguous" | "fragmented" | "reverse" | { runs: FrameRun[] };

/** How to build a guest; see {@link Xen.createDomain}. */
export interface DomainConfig {
  /** Pages of pseudo-physical memory. */
  nrPages: number;
  /** XENFEAT_auto_translated_physmap: the guest cannot see machine frame numbers. */
  autotranslate: boolean;
  /** Devices of this guest sit behind an IOMMU (SPEC §4 "IOMMU"). */
  iommu: boolean;
  /** The control domain: it gets domid 0 and may exchange order-10 extents. */
  dom0: boolean;
  arch: Arch;
  layout: DomainLayout;
  /**
   * Identity-map guest-physical onto machine addresses (an ARM dom0): needs the
   * contiguous layout and an autotranslated guest; `physBase` becomes the machine address
   * of the first frame, so `phys >> 12 === mfn` for every page.
   */
  identity?: boolean;
  /** Seed of the fragmented layout's shuffle; the Xen seed when absent. */
  seed?: number;
}

/** A contiguity run: `count` pages from `pfn` backed by consecutive frames from `mfn`. */
export interface P2mRun {
  pfn: number;
  mfn: number;
  count: number;
}

/** What {@link Xen.createDomain} hands to the Domain constructor. */
export interface DomainInit {
  domid: number;
  machine: Machine;
  config: DomainConfig;
  /** pfn → mfn for every page; the Domain takes ownership of the table. */
  p2m: RunTable;
  physBase: number;
}

/** Guest memory below this is not handed out by {@link Domain.allocPhys} (x86's low 1 MiB). */
const LOW_RESERVED = 1024 * 1024;

/**
 * A guest domain. Implements {@link PhysMemory} on guest-physical addresses, so the
 * swiotlb core and the DMA layer move real bytes through the p2m into machine frames
 * (SPEC §7 "Data moves for real").
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Xen } from "./xen.ts";
 * const xen = new Xen({ machineBytes: 2 ** 33, seed: 1 });
 * const dom = xen.createDomain({
 *   nrPages: 1024, autotranslate: false, iommu: false, dom0: false, arch: "x86",
 *   layout: "fragmented",
 * });
 * const buf = dom.allocPhys(8192, 4096);
 * dom.write(buf, new TextEncoder().encode("hello"));
 * assertEquals(new TextDecoder().decode(dom.read(buf, 5)), "hello");
 * // Contiguous exactly when the second page's frame follows the first's.
 * const [a, b] = [dom.physToMachine(buf), dom.physToMachine(buf + 4096)];
 * assertEquals(dom.isMachineContiguous(buf, 8192), b === a + 4096);
 * ```
 */
export class Domain implements PhysMemory {
  readonly domid: number;
  readonly nrPages: number;
  readonly autotranslate: boolean;
  readonly iommu: boolean;
  readonly dom0: boolean;
  readonly arch: Arch;
  /** Guest-physical address of pfn 0. */
  readonly physBase: number;
  /** The configuration the guest was built from. */
  readonly config: Readonly<DomainConfig>;
  /**
   * pfn → mfn (the p2m), a run table: a contiguous guest of any size is one run. Read it
   * freely (`p2m.get(pfn)`); only Xen and the exchange write it.
   */
  readonly p2m: RunTable;
  readonly #machine: Machine;
  /** The guest's own page allocator (lib/xen/_guest_alloc.ts). */
  readonly #alloc: GuestAllocator;
  /** Scratch of {@link copy}'s frame test (no allocation per bounce). */
  readonly #bounds = new Float64Array(2);

  constructor({ domid, machine, config, p2m, physBase }: DomainInit) {
    this.domid = domid;
    this.nrPages = config.nrPages;
    this.autotranslate = config.autotranslate;
    this.iommu = config.iommu;
    this.dom0 = config.dom0;
    this.arch = config.arch;
    this.physBase = physBase;
    this.config = config;
    this.p2m = p2m;
    this.#machine = machine;
    // Keep guest-physical 0 out of the allocator: swiotlb treats orig_addr 0 as "none"
    // (SPEC §3 unmap), and x86 leaves its first megabyte to firmware. Tiny test guests
    // (under 2 MiB) only lose their first page.
    this.#alloc = new GuestAllocator({
      start: physBase + (this.nrPages * PAGE_SIZE >= 2 * LOW_RESERVED ? LOW_RESERVED : PAGE_SIZE),
      end: this.physEnd,
      topDown: this.arch === "x86",
      name: this.name,
    });
  }

  /** Short name, as Xen prints it: "dom0", "dom1", … */
  get name(): string {
    return `dom${this.domid}`;
  }

  /** Guest memory in bytes. */
  get memBytes(): number {
    return this.nrPages * PAGE_SIZE;
  }

  /** First guest-physical address past the guest's memory. */
  get physEnd(): number {
    return this.physBase + this.memBytes;
  }

  /** The machine this guest runs on. */
  get machine(): Machine {
    return this.#machine;
  }

  // ---- translation ------------------------------------------------------------------

  /** The pfn of guest-physical `phys`; throws when it is outside the guest. */
  physToPfn(phys: number): number {
    const pfn = Math.floor((phys - this.physBase) / PAGE_SIZE);
    this.#checkPfn(pfn, phys);
    return pfn;
  }

  /** Guest-physical address of the first byte of `pfn`. */
  pfnToPhys(pfn: number): number {
    this.#checkPfn(pfn);
    return this.physBase + pfn * PAGE_SIZE;
  }

  /** The p2m entry of `pfn`. */
  pfnToMfn(pfn: number): number {
    this.#checkPfn(pfn);
    return this.p2m.get(pfn);
  }

  /** Machine address backing guest-physical `phys`. */
  physToMachine(phys: number): number {
    const pfn = this.physToPfn(phys);
    // The offset by subtraction: exact, and no floating-point remainder on every map.
    return this.p2m.get(pfn) * PAGE_SIZE + (phys - this.physBase - pfn * PAGE_SIZE);
  }

  /** This guest's pfn for `mfn` via Xen's m2p; undefined when the frame is not this guest's. */
  mfnToPfn(mfn: number): number | undefined {
    return this.#machine.m2pIfOwner(mfn, this.domid);
  }

  /** Guest-physical address of machine address `maddr`, or undefined when not this guest's. */
  machineToPhys(maddr: number): number | undefined {
    const mfn = Math.floor(maddr / PAGE_SIZE);
    const pfn = this.#machine.m2pIfOwner(mfn, this.domid);
    return pfn === undefined
      ? undefined
      : this.physBase + pfn * PAGE_SIZE + (maddr - mfn * PAGE_SIZE);
  }

  /**
   * True when every page boundary that [phys, phys+size) crosses leads to the next
   * machine frame: the negation of 3.11's range_straddles_page_boundary (SPEC §7).
   */
  isMachineContiguous(phys: number, size: number): boolean {
    if (size <= 0) return true;
    const first = this.physToPfn(phys);
    const last = this.physToPfn(phys + size - 1);
    return this.p2m.runEnd(first, 1, last + 1) > last;
  }

  /** The p2m of `count` pages from `pfn`, as runs of consecutive frames (SPEC §9 `p2m`). */
  contiguityRuns(pfn: number, count: number): P2mRun[] {
    const runs: P2mRun[] = [];
    this.forEachRun(pfn, count, (p, mfn, n) => runs.push({ pfn: p, mfn, count: n }));
    return runs;
  }

  /**
   * Calls `fn(pfn, mfn, count)` for each contiguity run of `count` pages from `pfn`, in
   * pfn order, without building a list: one call per run however large the guest.
   */
  forEachRun(
    pfn: number,
    count: number,
    fn: (pfn: number, mfn: number, count: number) => void,
  ): void {
    if (count <= 0) return;
    this.#checkPfn(pfn);
    this.#checkPfn(pfn + count - 1);
    const end = pfn + count;
    for (let p = pfn; p < end;) {
      const next = this.p2m.runEnd(p, 1, end);
      fn(p, this.p2m.get(p), next - p);
      p = next;
    }
  }

  /**
   * Points `pfn` at `mfn` and records it in Xen's m2p. Xen does this for an
   * autotranslated guest; a PV guest does it itself after an exchange (SPEC §4).
   */
  remap(pfn: number, mfn: number): void {
    this.#checkPfn(pfn);
    this.p2m.set(pfn, mfn);
    this.#machine.setM2p(mfn, pfn);
  }

  /** {@link remap} of `count` pages from `pfn` onto the frames from `mfn`, as one run. */
  remapRun(pfn: number, mfn: number, count: number): void {
    if (count <= 0) return;
    this.#checkPfn(pfn);
    this.#checkPfn(pfn + count - 1);
    this.#machine.setM2pRun(mfn, pfn, count);
    this.p2m.fillRising(pfn, pfn + count, mfn);
  }

  // ---- PhysMemory -------------------------------------------------------------------

  /** Reads `len` guest-physical bytes through the p2m. */
  read(addr: number, len: number): Uint8Array {
    this.#checkRange(addr, len, "read");
    const out = new Uint8Array(len);
    const machine = this.#machine;
    this.#eachPage(addr, len, (maddr, done, n) => machine.readInto(maddr, out, done, n));
    return out;
  }

  /** Writes `bytes` at guest-physical `addr` through the p2m. */
  write(addr: number, bytes: Uint8Array): void {
    this.#checkRange(addr, bytes.length, "write");
    this.#eachPage(addr, bytes.length, (maddr, done, n) => {
      this.#machine.write(maddr, bytes.subarray(done, done + n));
    });
  }

  /**
   * Copies `len` guest-physical bytes from `src` to `dst` (swiotlb_bounce), overlap-safe
   * as memmove: in pieces bounded by both ranges' contiguity runs, each copied frame to
   * frame by the machine, with no temporary. When the two ranges may share a machine
   * frame — their pages overlap, or the frames behind them interleave — the source is
   * read whole first, so the result never depends on the order of the pieces.
   */
  copy(dst: number, src: number, len: number): void {
    this.#checkRange(src, len, "read");
    this.#checkRange(dst, len, "write");
    if (len === 0) return;
    const s0 = src - this.physBase;
    const d0 = dst - this.physBase;
    const sFirst = Math.floor(s0 / PAGE_SIZE);
    const dFirst = Math.floor(d0 / PAGE_SIZE);
    const sEnd = Math.floor((s0 + len - 1) / PAGE_SIZE) + 1;
    const dEnd = Math.floor((d0 + len - 1) / PAGE_SIZE) + 1;
    const p2m = this.p2m;
    const machine = this.#machine;
    if (p2m.runEnd(sFirst, 1, sEnd) === sEnd && p2m.runEnd(dFirst, 1, dEnd) === dEnd) {
      // Both machine-contiguous (a bounce slot and most buffers): one machine copy, which
      // handles overlapping frames itself.
      machine.copy(
        p2m.get(dFirst) * PAGE_SIZE + (d0 - dFirst * PAGE_SIZE),
        p2m.get(sFirst) * PAGE_SIZE + (s0 - sFirst * PAGE_SIZE),
        len,
      );
      return;
    }
    if (this.#mayShareFrames(sFirst, sEnd, dFirst, dEnd)) {
      this.write(dst, this.read(src, len));
      return;
    }
    // The pfn where the current contiguity run of each side ends.
    let sRun = 0;
    let dRun = 0;
    let done = 0;
    while (done < len) {
      const s = s0 + done;
      const d = d0 + done;
      const sp = Math.floor(s / PAGE_SIZE);
      const dp = Math.floor(d / PAGE_SIZE);
      if (sp >= sRun) sRun = p2m.runEnd(sp, 1, sEnd);
      if (dp >= dRun) dRun = p2m.runEnd(dp, 1, dEnd);
      const n = Math.min(len - done, sRun * PAGE_SIZE - s, dRun * PAGE_SIZE - d);
      machine.copy(
        p2m.get(dp) * PAGE_SIZE + (d - dp * PAGE_SIZE),
        p2m.get(sp) * PAGE_SIZE + (s - sp * PAGE_SIZE),
        n,
      );
      done += n;
    }
  }

  /**
   * May pages `[sFirst, sEnd)` and `[dFirst, dEnd)` be backed by a common machine frame?
   * Yes when the page ranges overlap or the ranges of frames behind them do (a cheap,
   * conservative test: a p2m maps each page to its own frame, and the frames of a bounce
   * pool and of a driver's buffer lie apart).
   */
  #mayShareFrames(sFirst: number, sEnd: number, dFirst: number, dEnd: number): boolean {
    if (sFirst < dEnd && dFirst < sEnd) return true;
    const b = this.#bounds;
    this.p2m.boundsInto(sFirst, sEnd, b);
    const sMin = b[0];
    const sMax = b[1];
    this.p2m.boundsInto(dFirst, dEnd, b);
    return b[0] <= sMax && sMin <= b[1];
  }

  /** Zeroes `len` guest-physical bytes (the kernel's scrub before an exchange, SPEC §4). */
  zero(addr: number, len: number): void {
    this.#checkRange(addr, len, "zero");
    // Nothing written on the machine: nothing to zero (the fixup scrubs every chunk).
    if (this.#machine.residentFrames === 0) return;
    // One machine call per contiguity run, not per page.
    const rel = addr - this.physBase;
    const end = Math.floor((rel + len - 1) / PAGE_SIZE) + 1;
    let done = 0;
    while (done < len) {
      const pfn = Math.floor((rel + done) / PAGE_SIZE);
      const off = rel + done - pfn * PAGE_SIZE;
      const n = Math.min(len - done, (this.p2m.runEnd(pfn, 1, end) - pfn) * PAGE_SIZE - off);
      this.#machine.zero(this.p2m.get(pfn) * PAGE_SIZE + off, n);
      done += n;
    }
  }

  // ---- the guest's own allocator ----------------------------------------------------

  /** First guest-physical address {@link allocPhys} can hand out. */
  get allocCursor(): number {
    return this.#alloc.cursor;
  }

  /**
   * Allocates guest-physical memory for the guest's own use. Requests of a page or more,
   * or aligned to a page or more, take whole pages aligned to `align` — from pages given
   * back with {@link freePhys} first, then fresh ones; smaller ones are packed into a
   * shared page like kmalloc, each aligned to `align` (a power of two).
   */
  allocPhys(bytes: number, align: number = PAGE_SIZE): number {
    return this.#alloc.allocPhys(bytes, align);
  }

  /**
   * Skips `bytes` (rounded up to whole pages) of the allocator's space and returns
   * where the skipped space starts: e.g. to put the swiotlb pool off a 256 KiB boundary
   * and show the rfc-v1 offset bug (SPEC §6).
   */
  reserve(bytes: number): number {
    return this.#alloc.reserve(bytes);
  }

  /**
   * Gives whole pages back (free_bootmem / free_pages): a later allocation reuses them.
   * Where inside a freed range it lands follows the boot allocator of the arch (SPEC §5
   * step 4): ARM's bootmem is first fit from the bottom, x86's memblock allocates top-down,
   * so a halved retry of the swiotlb pool lies in the bottom half on ARM, the top half on
   * x86, and a pool of the same size starts where the freed one did.
   */
  freePhys(phys: number, bytes: number): void {
    if (!Number.isInteger(phys) || phys % PAGE_SIZE !== 0 || !(bytes > 0)) {
      throw new LabError(
        msg`Cannot free ${bytes} bytes of guest memory at ${addr(phys)}: expected whole pages`,
      );
    }
    this.#checkRange(phys, bytes, "free");
    this.#alloc.free(phys, bytes);
  }

  // ---- internals --------------------------------------------------------------------

  /** Calls `fn(maddr, doneSoFar, n)` for each page-sized piece of a guest range. */
  #eachPage(addr: number, len: number, fn: (maddr: number, done: number, n: number) => void): void {
    let done = 0;
    while (done < len) {
      const rel = addr + done - this.physBase;
      const pfn = Math.floor(rel / PAGE_SIZE);
      const off = rel - pfn * PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - off);
      fn(this.p2m.get(pfn) * PAGE_SIZE + off, done, n);
      done += n;
    }
  }

  #checkPfn(pfn: number, phys?: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.nrPages) {
      const what = phys === undefined
        ? msg`pfn ${addr(pfn)}`
        : msg`guest-physical address ${addr(phys)}`;
      throw new LabError(
        msg`Cannot use ${what}: outside ${this.name}'s memory (${addr(this.physBase)}-${
          addr(this.physEnd - 1)
        })`,
      );
    }
  }

  /** Is [addr, addr + len) guest memory? */
  contains(addr: number, len: number): boolean {
    return Number.isInteger(addr) && Number.isInteger(len) && len >= 0 &&
      addr >= this.physBase && addr + len <= this.physEnd;
  }

  #checkRange(phys: number, len: number, what: string): void {
    if (!this.contains(phys, len)) {
      throw new LabError(
        msg`Cannot ${what} ${len} bytes at guest-physical ${
          addr(phys)
        }: outside ${this.name}'s memory (${addr(this.physBase)}-${addr(this.physEnd - 1)})`,
      );
    }
  }
}
