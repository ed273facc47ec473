/**
 * A guest's own page allocator (SPEC §4 "Guest", §5 step 4): a bump allocator over the
 * guest's pseudo-physical memory that packs small requests into a shared page like
 * kmalloc and reuses pages given back, where the arch's boot allocator would. Moved out
 * of domain.ts; the Domain validates addresses and delegates here.
 *
 * @module
 */

import { alignUp, formatSize, PAGE_SIZE } from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";

/** Where a guest's allocator works. */
export interface GuestAllocatorOptions {
  /** First guest-physical address it hands out. */
  start: number;
  /** First guest-physical address past the guest's memory. */
  end: number;
  /** x86's memblock allocates top-down inside a freed range; ARM's bootmem bottom-up. */
  topDown: boolean;
  /** The guest's name, for messages ("dom1"). */
  name: string;
}

/** The page allocator of one guest. */
export class GuestAllocator {
  readonly #end: number;
  readonly #topDown: boolean;
  readonly #name: string;
  /** Next page-aligned guest-physical address of the bump allocator. */
  #pageCursor: number;
  /** The page that sub-page allocations are packed into, and how much of it is used. */
  #slab: { page: number; used: number } | undefined;
  /** Page ranges given back with {@link free}, [start, end), sorted and merged. */
  #freed: { start: number; end: number }[] = [];

  constructor({ start, end, topDown, name }: GuestAllocatorOptions) {
    this.#pageCursor = start;
    this.#end = end;
    this.#topDown = topDown;
    this.#name = name;
  }

  /** First guest-physical address {@link allocPhys} can hand out. */
  get cursor(): number {
    return this.#pageCursor;
  }

  /** Domain.allocPhys. */
  allocPhys(bytes: number, align: number): number {
    if (!Number.isInteger(bytes) || bytes <= 0) {
      throw new LabError(
        `Cannot allocate ${bytes} bytes of guest memory: expected a positive size`,
      );
    }
    if (!Number.isInteger(align) || align <= 0 || !Number.isInteger(Math.log2(align))) {
      throw new LabError(`Cannot allocate with alignment ${align}: expected a power of two`);
    }
    if (bytes >= PAGE_SIZE || align >= PAGE_SIZE) {
      return this.#takePages(alignUp(bytes, PAGE_SIZE), Math.max(align, PAGE_SIZE), bytes);
    }
    const slab = this.#slab;
    if (slab) {
      const off = alignUp(slab.used, align);
      if (off + bytes <= PAGE_SIZE) {
        slab.used = off + bytes;
        return slab.page + off;
      }
    }
    const page = this.#takePages(PAGE_SIZE, PAGE_SIZE, bytes);
    this.#slab = { page, used: bytes };
    return page;
  }

  /** Domain.reserve. */
  reserve(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new LabError(`Cannot reserve ${bytes} bytes of guest memory: expected a size`);
    }
    return bytes === 0
      ? this.#pageCursor
      : this.#takePages(alignUp(bytes, PAGE_SIZE), PAGE_SIZE, bytes);
  }

  /** Domain.freePhys, its arguments checked: whole pages from `phys` inside the guest. */
  free(phys: number, bytes: number): void {
    const r = { start: phys, end: phys + alignUp(bytes, PAGE_SIZE) };
    const list = [...this.#freed, r].sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const x of list) {
      const last = merged[merged.length - 1];
      if (last && x.start <= last.end) last.end = Math.max(last.end, x.end);
      else merged.push({ ...x });
    }
    this.#freed = merged;
  }

  /** Takes `span` bytes aligned to `align` from a freed range, or undefined. */
  #reuse(span: number, align: number): number | undefined {
    const topDown = this.#topDown;
    const ranges = topDown ? [...this.#freed].reverse() : this.#freed;
    for (const r of ranges) {
      const start = topDown ? Math.floor((r.end - span) / align) * align : alignUp(r.start, align);
      if (start < r.start || start + span > r.end) continue;
      // Cut [start, start + span) out of the range.
      const rest = [
        { start: r.start, end: start },
        { start: start + span, end: r.end },
      ].filter((x) => x.end > x.start);
      this.#freed = this.#freed.flatMap((x) => (x === r ? rest : [x]));
      return start;
    }
    return undefined;
  }

  #takePages(span: number, align: number, asked: number): number {
    const reused = this.#reuse(span, align);
    if (reused !== undefined) return reused;
    const start = alignUp(this.#pageCursor, align);
    if (start + span > this.#end) {
      throw new LabError(
        msg`Cannot allocate ${formatSize(asked)} of guest memory in ${this.#name}: only ${
          formatSize(Math.max(0, this.#end - start))
        } left after ${addr(start)}`,
        "failed",
      );
    }
    this.#pageCursor = start + span;
    return start;
  }
}
