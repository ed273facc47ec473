/**
 * The software IO TLB core of Linux 3.11 (SPEC §3): the free-run counters, the next-fit
 * slot search with stride, wrap and segment-boundary skip, per-slot original addresses,
 * and the map / unmap / sync bounce rules.
 *
 * Kernel names, once: `io_tlb_list` → {@link SwiotlbCore.freeRun}, `io_tlb_index` →
 * {@link SwiotlbCore.hint}, `io_tlb_orig_addr` → {@link SwiotlbCore.origAddr},
 * `swiotlb_tbl_map_single` → {@link SwiotlbCore.mapSingle},
 * `swiotlb_tbl_unmap_single` → {@link SwiotlbCore.unmapSingle},
 * `swiotlb_tbl_sync_single` → {@link SwiotlbCore.syncSingle}.
 *
 * The free list invariant: `freeRun[i]` is the number of free slots in the run starting
 * at slot i, capped at the end of i's segment; 0 means in use. Because the cap stops at
 * every 128-slot segment end, no mapping can ever cross a segment, which is what makes a
 * segment the largest possible bounce buffer.
 *
 * The counters live in a used-slot bitmap and are written out per segment only when
 * read, for as long as they are a pure function of which slots are in use; the first
 * undefined behaviour switches the core to the kernel's eager counters (./_freelist.ts).
 * orig_addr is written out lazily too, each slot once (./_orig.ts). Both read exactly as
 * the kernel's arrays would; `counters: "eager"` keeps them the kernel's way throughout.
 *
 * The kernel validates nothing here. The `checked` policy refuses a call that would
 * corrupt the counters and changes nothing; `faithful` does what the kernel does, records
 * an undefined-behaviour event, and traps out-of-bounds indexes instead of crashing.
 *
 * @module
 */

import {
  type Addr,
  type AllOnes,
  andMask,
  formatHex,
  IO_TLB_SEGSIZE,
  IO_TLB_SHIFT,
  IO_TLB_SIZE,
  type Mask,
  maskSlots,
} from "../addr.ts";
import {
  type Direction,
  directionName,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
} from "../direction.ts";
import { addr, LabError, msg, renderParts } from "../errors.ts";
import { EventLog } from "../events.ts";
import type { PhysMemory } from "../memory.ts";
import { copyProblem, syncProblem, unmapProblem } from "./_checks.ts";
import type { Given } from "./_eager.ts";
import { FreeList } from "./_freelist.ts";
import { OrigAddr } from "./_orig.ts";
import { Traps } from "./_traps.ts";
import { explainSlotSearch } from "./explain.ts";
import {
  DEFAULT_SEG_BOUNDARY,
  type LiveMapping,
  MAP_ERROR,
  type MapOutcome,
  type MapSingleArgs,
  type Policy,
  slotsFor,
  type SwiotlbCoreOptions,
  type SwiotlbStats,
  type SyncTarget,
} from "./types.ts";

/** How a call is named in undefined-behaviour events. */
function unmapCall(tlbAddr: Addr, size: number, dir: Direction): string {
  return `swiotlb_tbl_unmap_single(${formatHex(tlbAddr)}, ${size}, ${directionName(dir)})`;
}

/**
 * The 3.11 swiotlb slot allocator and bounce engine (SPEC §3).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DMA_TO_DEVICE, MAP_ERROR, SwiotlbCore } from "../../mod.ts";
 * const core = new SwiotlbCore({ nslabs: 256, start: 0x100000 });
 * const a = core.mapSingle({ tblDmaAddr: 0x100000, orig: 0x900000, size: 8192, dir: DMA_TO_DEVICE });
 * assertEquals([a, core.hint, Array.from(core.freeRun.subarray(0, 6))], [0x100000, 4, [0, 0, 0, 0, 124, 123]]);
 * // No run is longer than a segment: 129 slots never fit (SPEC §3).
 * assertEquals(core.mapSingle({ tblDmaAddr: 0, orig: 0, size: 129 * 2048, dir: DMA_TO_DEVICE }), MAP_ERROR);
 * core.unmapSingle(a, 8192, DMA_TO_DEVICE);
 * assertEquals(core.freeRun[0], 128);
 * ```
 */
export class SwiotlbCore {
  readonly nslabs: number;
  readonly start: number;
  readonly end: number;
  /** io_tlb_list, as a bitmap or as the kernel's counters (./_freelist.ts). */
  readonly #free: FreeList;
  /** io_tlb_orig_addr, written out lazily (./_orig.ts). */
  readonly #orig: OrigAddr;
  /** io_tlb_index: where the next search starts. */
  hint = 0;
  policy: Policy;
  readonly stats: SwiotlbStats = {
    maps: 0,
    unmaps: 0,
    syncs: 0,
    failedMaps: 0,
    slotsUsed: 0,
    highWater: 0,
    bytesToDevice: 0,
    bytesFromDevice: 0,
    ubEvents: 0,
  };
  readonly events: EventLog;
  /** The result of the most recent mapSingle (reused object: no allocation per map). */
  readonly lastMap: MapOutcome = { index: -1, nslots: 0, stride: 1, probes: 0, boundarySkips: 0 };
  memory: PhysMemory | undefined;
  /**
   * Size of the mapping that starts at each slot, 0 when none: the bookkeeping the
   * checked policy needs and the kernel does not have.
   */
  readonly #liveSize: Int32Array;
  /** Direction each live mapping was made with (bookkeeping of the checked policy). */
  readonly #liveDir: Int8Array;
  /** Out-of-bounds indexes touched by the current call (faithful policy). */
  /** The current call's out-of-bounds accesses (faithful). */
  readonly #traps = new Traps();
  /** What the last unmap did to the counters (reused: no allocation per unmap). */
  readonly #given: Given = { freed: 0, count: 0 };
  /**
   * The boundary numbers of the last (tblDmaAddr, mask) pair seen by mapSingle: a caller
   * passes the same pair on every map, and `addr % (mask + 1)` is a float modulo.
   */
  #boundTbl = NaN;
  #boundMask: Mask = NaN;
  #offsetSlots = 0;
  #maxSlots = 1;

  constructor(opts: SwiotlbCoreOptions) {
    const { nslabs, start } = opts;
    if (!Number.isInteger(nslabs) || nslabs <= 0) {
      throw new LabError(
        `Cannot create a swiotlb pool of ${nslabs} slots: expected a positive whole number`,
      );
    }
    if (start % IO_TLB_SIZE !== 0) {
      throw new LabError(msg`Cannot create a swiotlb pool at ${addr(start)}: not slot aligned`);
    }
    this.nslabs = nslabs;
    this.start = start;
    this.end = start + nslabs * IO_TLB_SIZE;
    this.memory = opts.memory;
    this.policy = opts.policy ?? "checked";
    this.events = opts.events ?? new EventLog();
    this.#free = new FreeList(nslabs, opts.counters === "eager");
    this.#orig = new OrigAddr(nslabs, opts.counters === "eager");
    this.#liveSize = new Int32Array(nslabs);
    this.#liveDir = new Int8Array(nslabs);
  }

  /**
   * io_tlb_orig_addr: the original address of each slot's data, as the kernel's array
   * holds it (maps not yet written out are written first: ./_orig.ts).
   */
  get origAddr(): Float64Array {
    return this.#orig.values;
  }

  /**
   * io_tlb_list: the free-run counters, one per slot (an `int` in the kernel). Segments
   * the bitmap is ahead on are written out first, so a read is always exact.
   */
  get freeRun(): Int32Array {
    return this.#free.counters;
  }

  /** Whether slot `index` is in use (io_tlb_list[index] is 0), cheaply: no write-out. */
  slotInUse(index: number): boolean {
    return this.#free.inUse(index);
  }

  /** False while the counters follow from the used-slot bitmap; true for good after UB. */
  get eagerCounters(): boolean {
    return this.#free.eager;
  }

  /** True when `addr` lies inside the pool (is_swiotlb_buffer). */
  isSwiotlbBuffer(addr: Addr): boolean {
    return addr >= this.start && addr < this.end;
  }

  /**
   * Slot index of an address: `(tlb_addr - io_tlb_start) >> IO_TLB_SHIFT`. The all-ones
   * value is computed as the kernel does, in 64-bit unsigned arithmetic truncated to its
   * `int index` (for a pool at 0x180100000: -3146241, about 3 M slots before the array).
   */
  slotIndex(addr: Addr): number {
    if (typeof addr === "number") return Math.floor((addr - this.start) / IO_TLB_SIZE);
    return Number(BigInt.asIntN(32, BigInt.asUintN(64, addr - BigInt(this.start)) >> 11n));
  }

  /** Guest-physical address of a slot. */
  slotAddr(index: number): number {
    return this.start + index * IO_TLB_SIZE;
  }

  /**
   * swiotlb_tbl_map_single: find `nslots` free slots by next-fit from the hint and
   * bounce the original in for TO_DEVICE / BIDIRECTIONAL. Returns the slot's
   * guest-physical address, or {@link MAP_ERROR} when no run fits.
   */
  mapSingle(args: MapSingleArgs): number | AllOnes {
    const { tblDmaAddr, orig, size, dir } = args;
    const mask = args.segBoundary ?? DEFAULT_SEG_BOUNDARY;
    if (!(size > 0)) {
      throw new LabError(`BUG: swiotlb_tbl_map_single of ${size} bytes (nslots is 0)`, "bug");
    }
    // Validate, then commit: an original outside memory has no bytes to bounce, and is
    // refused before a slot or a counter moves.
    if (!args.placeholder && this.memory?.contains?.(orig, size) === false) {
      throw new LabError(
        msg`Cannot bounce ${size} bytes at guest-physical ${addr(orig)}: not this guest's memory`,
        "refused",
        "outside-memory",
      );
    }
    const nslots = slotsFor(size);
    // The boundary test works in slots relative to the mask: the table's bus base inside
    // the mask, rounded up to a slot, and the mask's span in slots (2^53 for all-ones).
    // Recomputed only when the pair changes (NaN never equals itself: always recomputed).
    if (tblDmaAddr !== this.#boundTbl || mask !== this.#boundMask) {
      this.#boundTbl = tblDmaAddr;
      this.#boundMask = mask;
      this.#offsetSlots = Math.ceil(andMask(tblDmaAddr, mask) / IO_TLB_SIZE);
      this.#maxSlots = maskSlots(mask);
    }
    const offsetSlots = this.#offsetSlots;
    const maxSlots = this.#maxSlots;
    // A mapping larger than a page is searched at even slots only (page granularity).
    const stride = size > 4096 ? 2 : 1;
    const nslabs = this.nslabs;
    const events = this.events;

    // explain on: the same search, walked step by step off the hot path (./explain.ts).
    const q = events.explaining ? { size, nslots, stride, offsetSlots, maxSlots } : null;
    const told = q === null ? 0 : explainSlotSearch(events, this, q);
    const out = this.lastMap;
    const found = this.#free.search(this.hint, nslots, stride, offsetSlots, maxSlots, out);
    const probes = out.probes;
    const boundarySkips = out.boundarySkips;
    out.index = -1;
    out.nslots = nslots;
    out.stride = stride;
    if (q !== null && told !== found) throw new Error(`explained slot ${told}, found ${found}`);
    if (found < 0) {
      this.stats.failedMaps++;
      if (events.tracing) {
        events.trace(
          "swiotlb",
          `map ${size} bytes: no run of ${nslots} slots (stride ${stride}, ${probes} probes, ${boundarySkips} boundary skips) → SWIOTLB_MAP_ERROR`,
        );
      }
      return MAP_ERROR;
    }

    const end = found + nslots;
    if (end > nslabs) {
      // Only a pool whose last segment is short (a halved swiotlb= that is not a
      // multiple of 128, SPEC §5 step 4) gets here: its counters still count 128.
      const problem = msg`map of ${size} bytes at slot ${found} runs ${
        end - nslabs
      } slot(s) past the end of the ${nslabs}-slot pool (short last segment)`;
      if (this.policy === "checked") throw new LabError(problem, "refused", "short-segment");
      this.#ub(`swiotlb_tbl_map_single(${formatHex(orig)}, ${size}): ${renderParts(problem)}`);
    }
    const taken = this.#free.take(found, end);
    this.hint = end < nslabs ? end : 0;
    this.#orig.record(found, nslots, orig);
    this.#liveSize[found] = size;
    this.#liveDir[found] = dir;
    out.index = found;

    const stats = this.stats;
    stats.maps++;
    const used = stats.slotsUsed + taken;
    stats.slotsUsed = used;
    if (used > stats.highWater) stats.highWater = used;
    const tlbAddr = this.start + found * IO_TLB_SIZE;
    if (events.tracing) {
      events.trace(
        "swiotlb",
        `map ${size} bytes (${nslots} slots, stride ${stride}): slot ${found} after ${probes} probe${
          probes === 1 ? "" : "s"
        }` +
          (boundarySkips
            ? `, ${boundarySkips} boundary skip${boundarySkips === 1 ? "" : "s"}`
            : "") +
          `; hint → ${this.hint}`,
      );
    }
    if (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL) this.#bounce(tlbAddr, orig, size, "in");
    return tlbAddr;
  }

  /**
   * swiotlb_tbl_unmap_single: bounce out for FROM_DEVICE / BIDIRECTIONAL, then give
   * the slots back and merge them with the free run on their right (same segment) and
   * the free slots on their left. Returns the bytes copied.
   */
  unmapSingle(tlbAddr: Addr, size: number, dir: Direction): number {
    const nslots = slotsFor(size);
    const index = this.slotIndex(tlbAddr);
    const problem = unmapProblem(this, tlbAddr, index, nslots, size, dir);
    if (problem && this.policy === "checked") throw problem;
    const nslabs = this.nslabs;
    let copied = 0;
    // A valid unmap reads its mapping's first slot, which the lazy array keeps current;
    // anything else may read a slot whose value is still in the log.
    const orig = index >= 0 && index < nslabs
      ? (problem ? this.origAddr[index] : this.#orig.first(index))
      : 0;
    const out = dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL;
    const copy = orig !== 0 && out ? copyProblem(this.memory, tlbAddr, orig, size) : undefined;
    if (copy) throw copy;
    if (problem) this.#ub(`${unmapCall(tlbAddr, size, dir)}: ${problem.message}`);
    const traps = this.#traps;
    traps.reset();
    if (orig !== 0 && out && typeof tlbAddr === "number") {
      copied = this.#bounce(tlbAddr, orig, size, "out");
    }
    const given = this.#given;
    this.#free.give(index, nslots, problem === undefined, traps, given, this.events.tracing);
    const { freed, count } = given;
    if (index >= 0 && index < nslabs) this.#liveSize[index] = 0;
    // The call is named only when an access was trapped: formatting it on every unmap
    // was a third of the unmap's time (hot path: no strings when nothing happened).
    if (traps.count > 0) this.#ub(traps.take(unmapCall(tlbAddr, size, dir), nslabs)!);
    this.stats.unmaps++;
    this.stats.slotsUsed -= freed;
    if (this.events.tracing) {
      this.events.trace(
        "swiotlb",
        `unmap slots ${index}-${index + nslots - 1}: run counter now ${count}`,
      );
    }
    return copied;
  }

  /**
   * swiotlb_tbl_sync_single: copy between bounce and original for the CPU (FROM_DEVICE,
   * BIDIRECTIONAL) or for the device (TO_DEVICE, BIDIRECTIONAL). Returns bytes copied.
   */
  syncSingle(tlbAddr: Addr, size: number, dir: Direction, target: SyncTarget): number {
    if (dir === DMA_NONE) {
      throw new LabError(`BUG: swiotlb_tbl_sync_single with DMA_NONE`, "bug");
    }
    const index = this.slotIndex(tlbAddr);
    const call = `swiotlb_tbl_sync_single(${formatHex(tlbAddr)}, ${size}, ${
      directionName(dir)
    }, for ${target})`;
    const problem = syncProblem(this, tlbAddr, size, dir);
    if (problem && this.policy === "checked") throw problem;
    const inPool = index >= 0 && index < this.nslabs && typeof tlbAddr === "number";
    const orig = inPool ? this.origAddr[index] + (tlbAddr % IO_TLB_SIZE) : 0;
    const copies = target === "cpu"
      ? dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL
      : dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL;
    const copy = inPool && copies ? copyProblem(this.memory, tlbAddr, orig, size) : undefined;
    if (copy) throw copy;
    if (problem) this.#ub(`${call}: ${problem.message}`);
    this.stats.syncs++;
    if (!inPool) return 0;
    if (target === "cpu") {
      if (dir === DMA_FROM_DEVICE || dir === DMA_BIDIRECTIONAL) {
        return this.#bounce(tlbAddr, orig, size, "out");
      }
    } else if (dir === DMA_TO_DEVICE || dir === DMA_BIDIRECTIONAL) {
      return this.#bounce(tlbAddr, orig, size, "in");
    }
    return 0;
  }

  /** The live mapping that contains slot `index`, if any (bookkeeping, not kernel state). */
  mappingAt(index: number): LiveMapping | undefined {
    if (index < 0 || index >= this.nslabs) return undefined;
    const segStart = index - (index % IO_TLB_SEGSIZE);
    for (let i = index; i >= segStart; i--) {
      const size = this.#liveSize[i];
      if (size > 0) {
        const nslots = slotsFor(size);
        return i + nslots > index ? { index: i, nslots, size } : undefined;
      }
    }
    return undefined;
  }

  /** Every live mapping in slot order (bookkeeping; O(nslabs)). */
  liveMappings(): LiveMapping[] {
    const out: LiveMapping[] = [];
    const live = this.#liveSize;
    for (let i = 0; i < this.nslabs; i++) {
      if (live[i] > 0) out.push({ index: i, nslots: slotsFor(live[i]), size: live[i] });
    }
    return out;
  }

  /** Slots whose counter is 0 (in use, by the kernel's own reckoning). */
  slotsInUse(): number {
    let n = 0;
    const list = this.freeRun;
    for (let i = 0; i < this.nslabs; i++) if (list[i] === 0) n++;
    return n;
  }

  /** Size of the mapping that starts at slot `index`, 0 when none (the checked policy's bookkeeping). */
  mappedSizeAt(index: number): number {
    return index >= 0 && index < this.nslabs ? this.#liveSize[index] : 0;
  }

  /** Direction of the mapping that starts at slot `index` (meaningful when one does). */
  mappedDirAt(index: number): Direction {
    return (index >= 0 && index < this.nslabs ? this.#liveDir[index] : 0) as Direction;
  }

  #ub(message: string): void {
    // From the first undefined behaviour on, only the kernel's arithmetic says what the
    // counters hold.
    this.#free.toEager();
    this.#orig.toEager();
    this.stats.ubEvents++;
    this.events.ub("swiotlb", message);
  }

  /** swiotlb_bounce: "in" copies original → bounce, "out" bounce → original. */
  #bounce(tlbAddr: number, orig: number, size: number, way: "in" | "out"): number {
    if (way === "in") this.stats.bytesToDevice += size;
    else this.stats.bytesFromDevice += size;
    const mem = this.memory;
    if (mem) {
      if (way === "in") mem.copy(tlbAddr, orig, size);
      else mem.copy(orig, tlbAddr, size);
    }
    if (this.events.tracing) {
      this.events.trace(
        "swiotlb",
        way === "in"
          ? msg`bounce ${size} bytes ${addr(orig)} → ${addr(tlbAddr)} (CPU → bounce)`
          : msg`bounce ${size} bytes ${addr(tlbAddr)} → ${addr(orig)} (bounce → CPU)`,
      );
    }
    return size;
  }
}

/** IO_TLB_SHIFT re-exported for callers that count slots. */
export { IO_TLB_SHIFT };
