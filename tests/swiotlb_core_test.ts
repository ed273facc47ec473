/**
 * Worked examples for the swiotlb core (SPEC §3), every expected counter computed by
 * hand from the specification text. Each test derives its numbers in comments.
 *
 * Conventions used throughout: a slot is 2048 bytes, a segment 128 slots;
 * `nslots = ceil(size / 2048)`; `stride = 2` when size > 4096, else 1; the pool starts at
 * START (page aligned) and, unless said otherwise, tblDmaAddr = START with the default
 * boundary mask 0xffffffff, for which offset_slots = 0x10000000 / 2048 = 131072 and
 * max_slots = 2^32 / 2048 = 2^21, so the boundary test never binds in a small pool.
 */

import {
  assert,
  assertEquals,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { MAP_ERROR, SwiotlbCore } from "../lib/swiotlb/mod.ts";
import { type Addr, ALL_ONES, type Mask } from "../lib/addr.ts";
import { n } from "./_addr.ts";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_NONE,
  DMA_TO_DEVICE,
} from "../lib/direction.ts";
import { LabError } from "../lib/errors.ts";
import { EventLog } from "../lib/events.ts";
import type { PhysMemory } from "../lib/memory.ts";

const SLOT = 2048;
const SEG = 128;
const START = 0x1000_0000;
/** Where the tests keep "original" (driver) buffers: far from the pool. */
const ORIG = 0x4000_0000;

// ---------------------------------------------------------------------------------------
// Helpers

/** [from, from-1, …, to]: a descending run of free-run counters. */
function desc(from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v >= to; v--) out.push(v);
  return out;
}

function zeros(n: number): number[] {
  return new Array(n).fill(0);
}

/** The boot counters of one segment: 128, 127, …, 1. */
function bootSegment(): number[] {
  return desc(128, 1);
}

/** The counters of segment `s` as a plain array. */
function segment(core: SwiotlbCore, s: number): number[] {
  return Array.from(core.freeRun.subarray(s * SEG, (s + 1) * SEG));
}

function slotOf(core: SwiotlbCore, addr: Addr): number {
  if (typeof addr !== "number") throw new Error("expected a slot address, got MAP_ERROR");
  return (addr - core.start) / SLOT;
}

function newCore(
  nslabs: number,
  extra: { memory?: PhysMemory; policy?: "checked" | "faithful"; events?: EventLog } = {},
): SwiotlbCore {
  return new SwiotlbCore({ nslabs, start: START, ...extra });
}

/** Maps with the test defaults (tblDmaAddr = START, default boundary, TO_DEVICE). */
function map(
  core: SwiotlbCore,
  size: number,
  more: {
    orig?: number;
    dir?: Direction;
    tblDmaAddr?: number;
    segBoundary?: Mask;
  } = {},
): number | typeof MAP_ERROR {
  return core.mapSingle({
    tblDmaAddr: more.tblDmaAddr ?? START,
    orig: more.orig ?? ORIG,
    size,
    dir: more.dir ?? DMA_TO_DEVICE,
    ...(more.segBoundary === undefined ? {} : { segBoundary: more.segBoundary }),
  });
}

interface Snapshot {
  freeRun: number[];
  origAddr: number[];
  hint: number;
  maps: number;
  unmaps: number;
}

function snapshot(core: SwiotlbCore): Snapshot {
  return {
    freeRun: Array.from(core.freeRun),
    origAddr: Array.from(core.origAddr),
    hint: core.hint,
    maps: core.stats.maps,
    unmaps: core.stats.unmaps,
  };
}

function assertLabError(fn: () => unknown, kind: string, what: string): LabError {
  const err = assertThrows(fn, LabError, undefined, what) as LabError;
  assertEquals(err.kind, kind, `${what}: error kind (message: ${err.message})`);
  return err;
}

/** Asserts `fn` is refused (checked policy) and leaves the core's state untouched. */
function assertRefused(core: SwiotlbCore, fn: () => unknown, what: string): void {
  const before = snapshot(core);
  assertLabError(fn, "refused", what);
  assertEquals(snapshot(core), before, `${what}: state must be unchanged`);
}

/** A byte store backed by a Map: unwritten bytes read as 0. */
class MapMemory implements PhysMemory {
  readonly bytes = new Map<number, number>();
  read(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.bytes.get(addr + i) ?? 0;
    return out;
  }
  write(addr: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.bytes.set(addr + i, bytes[i]);
  }
  copy(dst: number, src: number, len: number): void {
    this.write(dst, this.read(src, len));
  }
}

/** A recognisable pattern: never 0, depends on `seed` and position. */
function pattern(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = ((seed + i * 7) % 255) + 1;
  return out;
}

function assertBytes(mem: MapMemory, addr: number, expected: Uint8Array, what: string): void {
  // Compare without building a huge diff unless something differs.
  const got = mem.read(addr, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (got[i] !== expected[i]) {
      assertEquals(got[i], expected[i], `${what}: byte ${i} at 0x${(addr + i).toString(16)}`);
    }
  }
}

function assertZero(mem: MapMemory, addr: number, len: number, what: string): void {
  assertBytes(mem, addr, new Uint8Array(len), what);
}

// ---------------------------------------------------------------------------------------
// Boot state

Deno.test("boot state: every segment reads 128…1, hint 0, no orig addresses", () => {
  const core = newCore(256);
  assertEquals(core.nslabs, 256);
  assertEquals(core.start, START);
  assertEquals(core.end, START + 256 * SLOT);
  assertEquals(core.freeRun.length, 256);
  assertEquals(core.origAddr.length, 256);
  assertEquals(segment(core, 0), bootSegment());
  assertEquals(segment(core, 1), bootSegment());
  assertEquals(core.hint, 0);
  assert(core.origAddr.every((a) => a === 0));
  assertEquals(core.policy, "checked");
  assertEquals(core.stats.maps, 0);
  assertEquals(core.stats.unmaps, 0);
  assertEquals(core.stats.syncs, 0);
  assertEquals(core.stats.failedMaps, 0);
  assertEquals(core.stats.slotsUsed, 0);
  assertEquals(core.stats.highWater, 0);
  assertEquals(core.stats.ubEvents, 0);
});

Deno.test("MAP_ERROR is the all-ones sentinel", () => {
  assertStrictEquals(MAP_ERROR, ALL_ONES);
  // Exact, not a double: 2^64 - 1 itself, which no JavaScript number can hold.
  assertStrictEquals(MAP_ERROR, 2n ** 64n - 1n);
  assertEquals(typeof MAP_ERROR, "bigint");
});

Deno.test("isSwiotlbBuffer: start <= addr < end", () => {
  const core = newCore(256);
  assert(core.isSwiotlbBuffer(START));
  assert(core.isSwiotlbBuffer(START + 12345));
  assert(core.isSwiotlbBuffer(core.end - 1));
  assert(!core.isSwiotlbBuffer(core.end));
  assert(!core.isSwiotlbBuffer(START - 1));
  assert(!core.isSwiotlbBuffer(0));
});

// ---------------------------------------------------------------------------------------
// Map: the allocator

Deno.test("map 3 slots at the start of a segment", () => {
  const core = newCore(256);
  // size 5000: nslots = ceil(5000/2048) = 3, stride 2 (5000 > 4096).
  // index = align_up(hint 0, 2) = 0; list[0] = 128 >= 3 → take slots 0..2.
  // Left walk from index-1 = -1: that is the "last slot of the previous segment" → stop.
  // hint = 0 + 3 = 3. Slots 3..127 keep their boot values 125…1.
  const addr = n(map(core, 5000));
  assertEquals(addr, START);
  assertEquals(segment(core, 0), [0, 0, 0, ...desc(125, 1)]);
  assertEquals(segment(core, 1), bootSegment());
  assertEquals(core.hint, 3);
  assertEquals(core.stats.slotsUsed, 3);
});

Deno.test("2-slot map landing at slot 10 renumbers the free slots to its left", () => {
  const core = newCore(256);
  // A: size 8192 → nslots 4, stride 2 → index 0, slots 0..3; hint 4.
  const a = n(map(core, 8192));
  assertEquals(slotOf(core, a), 0);
  // B: size 12288 → nslots 6, stride 2; index = align_up(4, 2) = 4; list[4] = 124 >= 6
  // → slots 4..9; left walk from 3: list[3] = 0 (A) → stop. hint 10.
  const b = n(map(core, 12288));
  assertEquals(slotOf(core, b), 4);
  assertEquals(core.hint, 10);
  // unmap B: count = list[10] = 118 (10 is in the same segment); list[9..4] = 119..124;
  // left walk from 3: list[3] = 0 → stop. hint stays 10.
  core.unmapSingle(b, 12288, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [0, 0, 0, 0, ...desc(124, 1)]);
  assertEquals(core.hint, 10);
  // C: size 4096 → nslots 2, stride 1; index = 10; list[10] = 118 >= 2 → slots 10..11.
  // Left walk from 9 while free: list[9]=1, [8]=2, [7]=3, [6]=4, [5]=5, [4]=6; list[3] = 0
  // → stop. hint = 12. Slots 12.. keep 116…1.
  const c = n(map(core, 4096));
  assertEquals(slotOf(core, c), 10);
  assertEquals(segment(core, 0), [0, 0, 0, 0, 6, 5, 4, 3, 2, 1, 0, 0, ...desc(116, 1)]);
  assertEquals(core.hint, 12);
});

Deno.test("stride: size 4096 uses stride 1, size 4097 stride 2 (odd hint aligned up)", () => {
  const core = newCore(256);
  // size 100 → 1 slot, stride 1 → slot 0, hint 1.
  assertEquals(slotOf(core, map(core, 100)), 0);
  assertEquals(core.hint, 1);
  // size 4096 → 2 slots, stride 1 (not > 4096): index = 1 (odd is fine); list[1] = 127
  // → slots 1..2; left walk from 0: list[0] = 0 → stop. hint 3.
  assertEquals(slotOf(core, map(core, 4096)), 1);
  assertEquals(core.hint, 3);
  // size 4097 → 3 slots, stride 2: index = align_up(3, 2) = 4 (slot 3 is skipped even
  // though list[3] = 125 >= 3). Take 4..6; left walk: list[3] = 125 → 1; list[2] = 0 →
  // stop. hint 7. Slot 3 is now a one-slot hole.
  assertEquals(slotOf(core, map(core, 4097)), 4);
  assertEquals(core.hint, 7);
  assertEquals(segment(core, 0), [0, 0, 0, 1, 0, 0, 0, ...desc(121, 1)]);
});

Deno.test("boundary mask 0xffff: a mapping that would cross 64 KiB is skipped", () => {
  // mask 0xffff: max_slots = 0x10000 / 2048 = 32.
  // tblDmaAddr = START + 20 slots: (tblDmaAddr & 0xffff) = 0xa000 → offset_slots = 20.
  const tbl = START + 20 * SLOT;
  const core = newCore(256);
  // size 32768 → 16 slots, stride 2. Candidates from 0: (20 + i) mod 32 + 16 > 32 for
  // i = 0, 2, …, 10 (20..30 + 16 > 32) → skipped; i = 12: (32 mod 32) + 16 = 16 <= 32 and
  // list[12] = 116 >= 16 → take 12..27. Left walk renumbers 11..0 as 1..12. hint 28.
  const addr = n(map(core, 32768, { tblDmaAddr: tbl, segBoundary: 0xffff }));
  assertEquals(slotOf(core, addr), 12);
  assertEquals(segment(core, 0), [...desc(12, 1), ...zeros(16), ...desc(100, 1)]);
  assertEquals(core.hint, 28);
  // On the bus the mapping is [tbl + 12*2048, +32 KiB) = [0x10010000, 0x10018000): it
  // starts on a 64 KiB boundary and does not cross one.
  const bus = tbl + 12 * SLOT;
  assertEquals(bus % 0x10000, 0);

  // Without the offset the same map lands at slot 0: (0 + 0) mod 32 + 16 <= 32.
  const plain = newCore(256);
  assertEquals(slotOf(plain, map(plain, 32768, { segBoundary: 0xffff })), 0);
});

Deno.test("tblDmaAddr offset: offset_slots = ceil((tblDmaAddr & mask) / 2048)", () => {
  // mask 0xffff → max_slots 32. A 30-slot map (61440 bytes, stride 2) fits only where
  // (offset_slots + i) mod 32 ∈ {0, 1, 2}.
  const at = (offset: number, size: number) => {
    const core = newCore(256);
    const a = map(core, size, { tblDmaAddr: START + offset, segBoundary: 0xffff });
    return a === MAP_ERROR ? -1 : slotOf(core, a);
  };
  // 0x1000 → offset_slots 2: i mod 32 ∈ {30, 31, 0} → first even candidate i = 0.
  assertEquals(at(0x1000, 61440), 0);
  // 0x1800 → offset_slots 3 exactly: i mod 32 ∈ {29, 30, 31} → first even i = 30.
  assertEquals(at(0x1800, 61440), 30);
  // 0x1801 → 6145 / 2048 rounds UP to 4: i mod 32 ∈ {28, 29, 30} → i = 28.
  assertEquals(at(0x1801, 61440), 28);
  // A 32-slot map (65536 bytes) needs (offset_slots + i) mod 32 = 0.
  // 0x1800: i ≡ 29 (mod 32), always odd, but stride 2 only visits even i → MAP_ERROR.
  assertStrictEquals(at(0x1800, 65536), -1);
  // 0x1801: i ≡ 28 → slot 28 (list[28] = 100 >= 32).
  assertEquals(at(0x1801, 65536), 28);
  // 0x1000: i ≡ 30 → slot 30.
  assertEquals(at(0x1000, 65536), 30);
});

Deno.test("all-ones boundary mask never binds", () => {
  // mask ALL_ONES: max_slots 2^53, offset_slots = ceil(tblDmaAddr / 2048): nothing skipped.
  const core = newCore(256);
  const tbl = START + 0x1800;
  assertEquals(slotOf(core, map(core, 65536, { tblDmaAddr: tbl, segBoundary: ALL_ONES })), 0);
  assertEquals(slotOf(core, map(core, 262144, { tblDmaAddr: tbl, segBoundary: ALL_ONES })), 128);
  assertEquals(core.hint, 0); // 128 + 128 = 256 >= nslabs → 0
});

Deno.test("hint wraps to 0 at nslabs; a full pool fails with MAP_ERROR", () => {
  const events = new EventLog();
  const core = newCore(256, { events });
  // 262144 bytes = 128 slots. First at 0 (hint 128), second at 128 (hint 256 → 0).
  assertEquals(slotOf(core, map(core, 262144)), 0);
  assertEquals(core.hint, 128);
  assertEquals(slotOf(core, map(core, 262144)), 128);
  assertEquals(core.hint, 0);
  assert(core.freeRun.every((c) => c === 0));
  // Everything is in use: even 1 byte fails, and nothing changes.
  const before = snapshot(core);
  assertStrictEquals(map(core, 1), MAP_ERROR);
  assertEquals(core.stats.failedMaps, 1);
  assertEquals(snapshot(core).freeRun, before.freeRun);
  assertEquals(snapshot(core).origAddr, before.origAddr);
  assertEquals(core.hint, 0);
  assertEquals(core.stats.slotsUsed, 256);
  // 3.11 prints nothing when the search fails.
  assertEquals(events.counts.log, 0);
});

Deno.test("the search wraps past nslabs back to slot 0", () => {
  const core = newCore(256);
  // A: 128 slots at 0, hint 128. B: 245760 bytes = 120 slots at 128..247, hint 248.
  const a = n(map(core, 262144));
  assertEquals(slotOf(core, a), 0);
  assertEquals(slotOf(core, map(core, 245760)), 128);
  assertEquals(core.hint, 248);
  assertEquals(segment(core, 1), [...zeros(120), ...desc(8, 1)]);
  // 16 slots (32768, stride 2): 248..254 hold 8, 6, 4, 2 < 16; wrap to 0: segment 0 is
  // full; 128..246 are in use; back at 248 → MAP_ERROR, hint unchanged.
  assertStrictEquals(map(core, 32768), MAP_ERROR);
  assertEquals(core.hint, 248);
  // Free A: count = 0 (128 is in the next segment) → list[127..0] = 1..128.
  core.unmapSingle(a, 262144, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), bootSegment());
  // Now the same 16-slot map wraps from 248 to 0 and succeeds there; hint 16.
  assertEquals(slotOf(core, map(core, 32768)), 0);
  assertEquals(core.hint, 16);
});

Deno.test("an odd hint aligned up to nslabs wraps the start index to 0", () => {
  const core = newCore(256);
  const a = n(map(core, 262144)); // slots 0..127, hint 128
  // 127 slots (260096 bytes, stride 2) at 128..254; hint 255; list[255] = 1.
  assertEquals(slotOf(core, map(core, 260096)), 128);
  assertEquals(core.hint, 255);
  assertEquals(core.freeRun[255], 1);
  core.unmapSingle(a, 262144, DMA_TO_DEVICE); // segment 0 back to 128…1
  // size 5000 (3 slots, stride 2): index = align_up(255, 2) = 256 >= nslabs → 0.
  assertEquals(slotOf(core, map(core, 5000)), 0);
  assertEquals(core.hint, 3);
  assertEquals(core.freeRun[255], 1);
});

Deno.test("a request of 129 slots always fails", () => {
  for (const segBoundary of [0xffffffff, ALL_ONES]) {
    const core = newCore(1024);
    const before = snapshot(core);
    // 129 * 2048 and 128 * 2048 + 1 both need 129 slots; no counter ever exceeds 128.
    assertStrictEquals(map(core, 129 * SLOT, { segBoundary }), MAP_ERROR);
    assertStrictEquals(map(core, 128 * SLOT + 1, { segBoundary }), MAP_ERROR);
    assertStrictEquals(map(core, 4 * 1024 * 1024, { segBoundary }), MAP_ERROR);
    assertEquals(core.stats.failedMaps, 3);
    assertEquals(Array.from(core.freeRun), before.freeRun);
    assertEquals(core.hint, 0);
  }
});

Deno.test("a 128-slot request succeeds only at a segment start", () => {
  const core = newCore(512);
  const one = n(map(core, 1)); // slot 0, hint 1
  assertEquals(slotOf(core, one), 0);
  // 128 slots, stride 2: index 2..126 have list < 128; 128 has 128 → take; hint 256.
  assertEquals(slotOf(core, map(core, 262144)), 128);
  assertEquals(core.hint, 256);
  assertEquals(slotOf(core, map(core, 262144)), 256);
  assertEquals(slotOf(core, map(core, 262144)), 384);
  assertEquals(core.hint, 0); // 384 + 128 = 512 → 0
  // Segment 0 has 127 free slots (1..127) but no segment start is free → MAP_ERROR.
  assertEquals(segment(core, 0), [0, ...desc(127, 1)]);
  assertStrictEquals(map(core, 262144), MAP_ERROR);
  core.unmapSingle(one, 1, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), bootSegment());
  assertEquals(slotOf(core, map(core, 262144)), 0);
  // With a 64 KiB boundary mask (max_slots 32) 128 slots can never fit.
  const masked = newCore(512);
  assertStrictEquals(map(masked, 262144, { segBoundary: 0xffff }), MAP_ERROR);
});

Deno.test("a short last segment: checked refuses a map past the pool end, faithful records it", () => {
  // A halved swiotlb= that is not a multiple of 128 leaves a short last segment whose
  // boot counters still count to the segment end (SPEC §5 step 4). A 100-slot pool:
  // slot 0 reads 128, so a 128-slot request "fits" and would run 28 slots past the end.
  const checked = newCore(100);
  assertEquals(checked.freeRun[0], 128);
  const before = Array.from(checked.freeRun);
  const err = assertThrows(() => map(checked, 262144), LabError);
  assertEquals(err.kind, "refused");
  assertStringIncludes(err.message, "28 slot(s) past the end");
  assertEquals(Array.from(checked.freeRun), before);
  assertEquals(checked.hint, 0);
  // Mappings that fit are unaffected.
  assertEquals(slotOf(checked, map(checked, 50 * SLOT)), 0);

  const events = new EventLog();
  const faithful = new SwiotlbCore({ nslabs: 100, start: START, policy: "faithful", events });
  const addr = n(map(faithful, 262144));
  assertEquals(slotOf(faithful, addr), 0);
  assertEquals(events.counts.ub, 1);
  assertEquals(faithful.stats.ubEvents, 1);
  // The kernel zeroed the 100 real counters (the other 28 writes land outside the pool).
  assert(Array.from(faithful.freeRun).every((c) => c === 0));
  // slots_used counts the slots taken from the free list, not the 28 that do not exist.
  assertEquals([faithful.stats.slotsUsed, faithful.stats.highWater], [100, 100]);
});

// ---------------------------------------------------------------------------------------
// Unmap

Deno.test("unmap merges with the free run to its right within the segment", () => {
  const core = newCore(256);
  const a = n(map(core, 8192)); // 4 slots: 0..3, hint 4
  const b = n(map(core, 8192)); // 4 slots: 4..7, hint 8
  assertEquals(slotOf(core, b), 4);
  assertEquals(segment(core, 0), [...zeros(8), ...desc(120, 1)]);
  // unmap B: count = list[8] = 120 → list[7..4] = 121..124; left walk: list[3] = 0 → stop.
  core.unmapSingle(b, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [...zeros(4), ...desc(124, 1)]);
  // unmap A: count = list[4] = 124 → list[3..0] = 125..128: the boot segment again.
  core.unmapSingle(a, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), bootSegment());
  assertEquals(core.hint, 8); // unmap never touches the hint
});

Deno.test("unmap does not merge across a segment boundary", () => {
  const core = newCore(256);
  // X: 124 slots (253952 bytes, stride 2) at 0..123, hint 124.
  assertEquals(slotOf(core, map(core, 253952)), 0);
  // Y: 4 slots (8192) at 124..127, hint 128. Segment 1 is untouched (128…1).
  const y = n(map(core, 8192));
  assertEquals(slotOf(core, y), 124);
  assertEquals(segment(core, 0), zeros(128));
  // unmap Y: index + nslots = 128 is NOT below align_up(125, 128) = 128 → count = 0, so
  // list[127..124] = 1..4 (not 129..132 from slot 128's run); left walk: list[123] = 0.
  core.unmapSingle(y, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [...zeros(124), 4, 3, 2, 1]);
  assertEquals(segment(core, 1), bootSegment());
});

Deno.test("unmap merges with free slots to its left", () => {
  const core = newCore(256);
  // Three 2-slot maps (4096 bytes, stride 1): A 0..1, B 2..3, C 4..5; hint 6.
  const a = n(map(core, 4096));
  const b = n(map(core, 4096));
  const c = n(map(core, 4096));
  assertEquals([a, b, c].map((x) => slotOf(core, x)), [0, 2, 4]);
  // unmap A: count = list[2] = 0 → list[1] = 1, list[0] = 2.
  core.unmapSingle(a, 4096, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [2, 1, 0, 0, 0, 0, ...desc(122, 1)]);
  // unmap C: count = list[6] = 122 → list[5] = 123, list[4] = 124; list[3] = 0 → stop.
  core.unmapSingle(c, 4096, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [2, 1, 0, 0, ...desc(124, 1)]);
  // unmap B: count = list[4] = 124 → list[3] = 125, list[2] = 126; left walk continues
  // over the free slots 1, 0 → 127, 128. Boot state again.
  core.unmapSingle(b, 4096, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), bootSegment());
});

Deno.test("origAddr records orig + k*2048 for every slot and survives unmap", () => {
  const core = newCore(256);
  const orig = 0x12345;
  // size 5000 → 3 slots at 0..2.
  const addr = n(map(core, 5000, { orig }));
  assertEquals(Array.from(core.origAddr.subarray(0, 4)), [orig, orig + 2048, orig + 4096, 0]);
  // A second mapping records its own slots.
  const orig2 = 0x7_0000_0800;
  const addr2 = n(map(core, 100, { orig: orig2 })); // 1 slot, stride 1, index 3
  assertEquals(slotOf(core, addr2), 3);
  assertEquals(core.origAddr[3], orig2);
  // Unmap does not clear the recorded addresses.
  core.unmapSingle(addr, 5000, DMA_TO_DEVICE);
  assertEquals(Array.from(core.origAddr.subarray(0, 4)), [orig, orig + 2048, orig + 4096, orig2]);
});

// ---------------------------------------------------------------------------------------
// Bytes: map, unmap and sync copy rules

Deno.test("map copies original→bounce only for TO_DEVICE and BIDIRECTIONAL", () => {
  const size = 5000;
  const cases: [Direction, boolean][] = [
    [DMA_BIDIRECTIONAL, true],
    [DMA_TO_DEVICE, true],
    [DMA_FROM_DEVICE, false],
  ];
  for (const [dir, copies] of cases) {
    const mem = new MapMemory();
    const core = newCore(256, { memory: mem });
    const data = pattern(size, 11);
    mem.write(ORIG, data);
    const tlb = n(map(core, size, { orig: ORIG, dir }));
    assertEquals(tlb, START);
    if (copies) assertBytes(mem, tlb, data, `dir ${dir}: bounce holds the original`);
    else assertZero(mem, tlb, size, `dir ${dir}: bounce untouched`);
    // Exactly `size` bytes move, not whole slots.
    assertZero(mem, tlb + size, 3 * SLOT - size, `dir ${dir}: past size`);
    assertBytes(mem, ORIG, data, `dir ${dir}: original unchanged`);
    assertEquals(core.stats.bytesToDevice, copies ? size : 0);
    assertEquals(core.stats.bytesFromDevice, 0);
  }
});

Deno.test("unmap copies bounce→original only for FROM_DEVICE and BIDIRECTIONAL", () => {
  const size = 5000;
  const cases: [Direction, boolean][] = [
    [DMA_BIDIRECTIONAL, true],
    [DMA_TO_DEVICE, false],
    [DMA_FROM_DEVICE, true],
  ];
  for (const [dir, copies] of cases) {
    const mem = new MapMemory();
    const core = newCore(256, { memory: mem });
    const tlb = n(map(core, size, { orig: ORIG, dir })); // the original is all zeros
    const device = pattern(size, 99);
    mem.write(tlb, device); // the device writes into the bounce buffer
    const copied = core.unmapSingle(tlb, size, dir);
    assertEquals(copied, copies ? size : 0, `dir ${dir}: bytes copied`);
    if (copies) assertBytes(mem, ORIG, device, `dir ${dir}: original receives device data`);
    else assertZero(mem, ORIG, size, `dir ${dir}: original untouched`);
    assertZero(mem, ORIG + size, 100, `dir ${dir}: nothing past size`);
    assertEquals(core.stats.bytesFromDevice, copies ? size : 0);
  }
});

Deno.test("unmap copies nothing when the recorded orig address is 0", () => {
  const mem = new MapMemory();
  const core = newCore(256, { memory: mem });
  const tlb = n(map(core, 100, { orig: 0, dir: DMA_FROM_DEVICE }));
  assertEquals(core.origAddr[0], 0);
  mem.write(tlb, pattern(100, 5));
  assertEquals(core.unmapSingle(tlb, 100, DMA_FROM_DEVICE), 0);
  assertZero(mem, 0, 100, "phys 0 untouched");
});

Deno.test("sync for cpu / device copies per direction", () => {
  const size = 8192;
  // cpu: bounce→original for FROM_DEVICE and BIDIRECTIONAL.
  // device: original→bounce for TO_DEVICE and BIDIRECTIONAL.
  const table: [Direction, "cpu" | "device", boolean][] = [
    [DMA_BIDIRECTIONAL, "cpu", true],
    [DMA_TO_DEVICE, "cpu", false],
    [DMA_FROM_DEVICE, "cpu", true],
    [DMA_BIDIRECTIONAL, "device", true],
    [DMA_TO_DEVICE, "device", true],
    [DMA_FROM_DEVICE, "device", false],
  ];
  for (const [dir, target, copies] of table) {
    const what = `dir ${dir} for ${target}`;
    const mem = new MapMemory();
    const core = newCore(256, { memory: mem });
    const tlb = n(map(core, size, { orig: ORIG, dir }));
    const inBounce = pattern(size, 1);
    const inOrig = pattern(size, 2);
    mem.write(tlb, inBounce);
    mem.write(ORIG, inOrig);
    const copied = core.syncSingle(tlb, size, dir, target);
    assertEquals(copied, copies ? size : 0, `${what}: bytes copied`);
    assertEquals(core.stats.syncs, 1, `${what}: syncs`);
    if (target === "cpu") {
      assertBytes(mem, ORIG, copies ? inBounce : inOrig, `${what}: original`);
      assertBytes(mem, tlb, inBounce, `${what}: bounce`);
      assertEquals(core.stats.bytesFromDevice, copies ? size : 0, `${what}: bytesFromDevice`);
    } else {
      assertBytes(mem, tlb, copies ? inOrig : inBounce, `${what}: bounce`);
      assertBytes(mem, ORIG, inOrig, `${what}: original`);
    }
  }
});

Deno.test("sync with DMA_NONE is a kernel BUG under both policies", () => {
  for (const policy of ["checked", "faithful"] as const) {
    const core = newCore(256, { memory: new MapMemory(), policy, events: new EventLog() });
    const tlb = n(map(core, 4096, { dir: DMA_BIDIRECTIONAL }));
    assertLabError(() => core.syncSingle(tlb, 16, DMA_NONE, "cpu"), "bug", `${policy} cpu`);
    assertLabError(() => core.syncSingle(tlb, 16, DMA_NONE, "device"), "bug", `${policy} device`);
  }
});

Deno.test("sync at an offset uses origAddr[index] + (tlbAddr mod 2048)", () => {
  const mem = new MapMemory();
  const core = newCore(256, { memory: mem });
  const orig = ORIG + 0x10; // not slot aligned, on purpose
  const tlb = n(map(core, 8192, { orig, dir: DMA_BIDIRECTIONAL })); // 4 slots at 0..3
  // Sync 0x200 bytes at tlb + 0x900: index = 1, origAddr[1] = orig + 2048,
  // tlbAddr mod 2048 = 0x100 → original = orig + 0x900.
  const at = tlb + 0x900;
  const data = pattern(0x200, 42);
  mem.write(at, data);
  assertEquals(core.syncSingle(at, 0x200, DMA_BIDIRECTIONAL, "cpu"), 0x200);
  assertBytes(mem, orig + 0x900, data, "synced range");
  // Only that range moved (the map copied zeros, so the rest of the original is zero).
  assertZero(mem, orig + 0x800, 0x100, "before the range");
  assertZero(mem, orig + 0xb00, 0x100, "after the range");
  // And back towards the device, from a different spot: tlb + 0x1234 (index 2, offset
  // 0x234) ← origAddr[2] + 0x234 = orig + 0x1234.
  const back = pattern(0x80, 7);
  mem.write(orig + 0x1234, back);
  assertEquals(core.syncSingle(tlb + 0x1234, 0x80, DMA_BIDIRECTIONAL, "device"), 0x80);
  assertBytes(mem, tlb + 0x1234, back, "bounce at offset");
});

Deno.test("a core without memory maps, syncs and unmaps without moving bytes", () => {
  const core = newCore(256);
  const tlb = n(map(core, 5000, { dir: DMA_BIDIRECTIONAL }));
  core.syncSingle(tlb, 5000, DMA_BIDIRECTIONAL, "cpu");
  core.syncSingle(tlb, 5000, DMA_BIDIRECTIONAL, "device");
  core.unmapSingle(tlb, 5000, DMA_BIDIRECTIONAL);
  assertEquals(segment(core, 0), bootSegment());
  assertEquals(core.stats.maps, 1);
  assertEquals(core.stats.unmaps, 1);
  assertEquals(core.stats.syncs, 2);
});

// ---------------------------------------------------------------------------------------
// Stats

Deno.test("stats: slotsUsed, highWater, bytes each way, counts", () => {
  const mem = new MapMemory();
  const core = newCore(256, { memory: mem });
  mem.write(ORIG, pattern(5000, 3));
  // A: 5000 bytes TO_DEVICE → 3 slots at 0..2; copies 5000 bytes to the device side.
  const a = n(map(core, 5000, { orig: ORIG, dir: DMA_TO_DEVICE }));
  assertEquals(core.stats.maps, 1);
  assertEquals(core.stats.slotsUsed, 3);
  assertEquals(core.stats.highWater, 3);
  assertEquals(core.stats.bytesToDevice, 5000);
  // B: 10000 bytes FROM_DEVICE → 5 slots, stride 2, index align_up(3, 2) = 4 → 4..8.
  const b = n(map(core, 10000, { orig: ORIG + 0x10000, dir: DMA_FROM_DEVICE }));
  assertEquals(slotOf(core, b), 4);
  assertEquals(core.stats.maps, 2);
  assertEquals(core.stats.slotsUsed, 8);
  assertEquals(core.stats.highWater, 8);
  assertEquals(core.stats.bytesToDevice, 5000);
  // Unmap A (TO_DEVICE): nothing copied back.
  assertEquals(core.unmapSingle(a, 5000, DMA_TO_DEVICE), 0);
  assertEquals(core.stats.unmaps, 1);
  assertEquals(core.stats.slotsUsed, 5);
  assertEquals(core.stats.highWater, 8);
  // Sync 100 bytes of B for the cpu: 100 bytes from the device side.
  assertEquals(core.syncSingle(b, 100, DMA_FROM_DEVICE, "cpu"), 100);
  assertEquals(core.stats.syncs, 1);
  assertEquals(core.stats.bytesFromDevice, 100);
  // Sync for the device with FROM_DEVICE copies nothing but is still a sync.
  assertEquals(core.syncSingle(b, 100, DMA_FROM_DEVICE, "device"), 0);
  assertEquals(core.stats.syncs, 2);
  // Unmap B: 10000 bytes back.
  assertEquals(core.unmapSingle(b, 10000, DMA_FROM_DEVICE), 10000);
  assertEquals(core.stats.unmaps, 2);
  assertEquals(core.stats.slotsUsed, 0);
  assertEquals(core.stats.highWater, 8);
  assertEquals(core.stats.bytesFromDevice, 10100);
  assertEquals(core.stats.bytesToDevice, 5000);
  // A failed map counts as failed.
  assertStrictEquals(map(core, 300000), MAP_ERROR);
  assertEquals(core.stats.failedMaps, 1);
  assertEquals(core.stats.slotsUsed, 0);
  assertEquals(core.stats.ubEvents, 0);
});

// ---------------------------------------------------------------------------------------
// Errors: BUG and the checked policy

Deno.test("map of size 0 is a kernel BUG and changes nothing", () => {
  for (const policy of ["checked", "faithful"] as const) {
    const core = newCore(256, { policy, events: new EventLog() });
    map(core, 100);
    const before = snapshot(core);
    assertLabError(() => map(core, 0), "bug", `${policy}: size 0`);
    assertEquals(snapshot(core), before, `${policy}: state unchanged`);
  }
});

Deno.test("checked: invalid unmaps are refused and leave all state untouched", () => {
  const events = new EventLog();
  const core = newCore(256, { events });
  assertEquals(core.policy, "checked");
  // A: 5000 bytes → 3 slots at 0..2, hint 3. B: 100 bytes → 1 slot at 3, hint 4.
  const a = n(map(core, 5000));
  const b = n(map(core, 100));
  assertEquals([slotOf(core, a), slotOf(core, b)], [0, 3]);

  const unmap = (addr: number, size: number) => () => core.unmapSingle(addr, size, DMA_TO_DEVICE);
  // Outside the pool.
  assertRefused(core, unmap(START - SLOT, SLOT), "below the pool");
  assertRefused(core, unmap(START - 0x100000, SLOT), "far below the pool");
  assertRefused(core, unmap(core.end, SLOT), "at end");
  assertRefused(core, unmap(core.end + 0x100000, SLOT), "far above the pool");
  // Not a live mapping's start.
  assertRefused(core, unmap(START + SLOT, SLOT), "middle of A");
  assertRefused(core, unmap(START + 10 * SLOT, SLOT), "never mapped (free slot)");
  // Slot count differs from the mapping's (A has 3 slots).
  assertRefused(core, unmap(a, 2048), "A with 1 slot");
  assertRefused(core, unmap(a, 4096), "A with 2 slots");
  assertRefused(core, unmap(a, 8192), "A with 4 slots");
  // A valid unmap, then the double unmap is refused.
  core.unmapSingle(a, 5000, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [3, 2, 1, 0, ...desc(124, 1)]);
  assertRefused(core, unmap(a, 5000), "double unmap of A");
  // B is still fine.
  core.unmapSingle(b, 100, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), bootSegment());
  assertRefused(core, unmap(b, 100), "double unmap of B");
  assertEquals(events.counts.ub, 0);
  assertEquals(core.stats.ubEvents, 0);
});

Deno.test("checked: an unmap with another size but the same slot count is accepted", () => {
  const core = newCore(256);
  const a = n(map(core, 5000)); // 3 slots
  core.unmapSingle(a, 6000, DMA_TO_DEVICE); // ceil(6000/2048) = 3 slots as well
  assertEquals(segment(core, 0), bootSegment());
});

Deno.test("checked: a sync outside one live mapping is refused", () => {
  const mem = new MapMemory();
  const events = new EventLog();
  const core = newCore(256, { memory: mem, events });
  const a = n(map(core, 5000, { dir: DMA_BIDIRECTIONAL })); // slots 0..2
  const b = n(map(core, 100, { dir: DMA_BIDIRECTIONAL })); // slot 3
  assertEquals(slotOf(core, b), 3);
  const sync = (addr: number, size: number) => () =>
    core.syncSingle(addr, size, DMA_BIDIRECTIONAL, "cpu");
  assertRefused(core, sync(START - 16, 8), "below the pool");
  assertRefused(core, sync(core.end + 16, 8), "above the pool");
  assertRefused(core, sync(START + 100 * SLOT, 8), "free slot");
  // From inside A across into B's slot.
  assertRefused(core, sync(a + 2 * SLOT, SLOT + 16), "from A into B");
  // Inside A is fine.
  core.syncSingle(a + 100, 200, DMA_BIDIRECTIONAL, "cpu");
  core.unmapSingle(a, 5000, DMA_BIDIRECTIONAL);
  assertRefused(core, sync(a, 16), "sync of an unmapped mapping");
  assertEquals(events.counts.ub, 0);
});

// ---------------------------------------------------------------------------------------
// Faithful policy: what 3.11 really does

Deno.test("faithful: a double unmap after reuse corrupts counters; a later map overlaps", () => {
  const events = new EventLog();
  const core = newCore(256, { policy: "faithful", events });
  assertEquals(core.policy, "faithful");
  // A: 8192 → 4 slots at 0..3, hint 4.
  const a = n(map(core, 8192));
  // B: 124 slots (253952, stride 2) from align_up(4, 2) = 4: list[4] = 124 → 4..127.
  assertEquals(slotOf(core, map(core, 253952)), 4);
  // D: 128 slots at 128; hint 256 → 0. The pool is full.
  assertEquals(slotOf(core, map(core, 262144)), 128);
  assertEquals(core.hint, 0);
  // unmap A: count = list[4] = 0 → list[3..0] = 1, 2, 3, 4.
  core.unmapSingle(a, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [4, 3, 2, 1, ...zeros(124)]);
  // C: 4096 → 2 slots, stride 1, index = hint 0, list[0] = 4 → slots 0..1; hint 2.
  const c = n(map(core, 4096));
  assertEquals(slotOf(core, c), 0);
  assertEquals(segment(core, 0), [0, 0, 2, 1, ...zeros(124)]);
  assertEquals(core.hint, 2);
  const ubBefore = events.counts.ub;
  // Double unmap of A (the kernel does it blindly): count = list[4] = 0 → list[3..0] =
  // 1, 2, 3, 4 — slots 0..1 now read free although C still owns them.
  core.unmapSingle(a, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [4, 3, 2, 1, ...zeros(124)]);
  assert(events.counts.ub > ubBefore, "double unmap records a ub event");
  assert(core.stats.ubEvents > 0);
  // E: 6000 → 3 slots, stride 2, index align_up(2, 2) = 2: list[2] = 2 < 3; 4..254 are
  // 0; wrap to 0: list[0] = 4 >= 3 → slots 0..2, overlapping the live mapping C.
  const e = n(map(core, 6000));
  assertEquals(e, c);
  assertEquals(segment(core, 0), [0, 0, 0, 1, ...zeros(124)]);
  assertEquals(core.hint, 3);
});

Deno.test("faithful: an unmap with a smaller size leaks slots", () => {
  const events = new EventLog();
  const core = newCore(256, { policy: "faithful", events });
  const a = n(map(core, 8192)); // 0..3
  const b = n(map(core, 8192)); // 4..7, hint 8
  // unmap A with 2048 (1 slot): count = list[1] = 0 → list[0] = 1. Slots 1..3 stay 0.
  core.unmapSingle(a, 2048, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [1, 0, 0, 0, 0, 0, 0, 0, ...desc(120, 1)]);
  assert(events.counts.ub >= 1, "size mismatch records a ub event");
  assertEquals(core.stats.ubEvents, events.counts.ub);
  // unmap B properly: count = list[8] = 120 → list[7..4] = 121..124; list[3] = 0 → stop.
  // Slots 1..3 are leaked for good.
  core.unmapSingle(b, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), [1, 0, 0, 0, ...desc(124, 1)]);
});

Deno.test("faithful: an unmap with a larger size frees a neighbour's slots", () => {
  const events = new EventLog();
  const core = newCore(256, { policy: "faithful", events });
  const a = n(map(core, 4096)); // 2 slots: 0..1
  const b = n(map(core, 4096)); // 2 slots: 2..3 (B stays live)
  assertEquals(slotOf(core, b), 2);
  // unmap A with 8192 (4 slots): count = list[4] = 124 → list[3..0] = 125..128.
  core.unmapSingle(a, 8192, DMA_TO_DEVICE);
  assertEquals(segment(core, 0), bootSegment());
  assert(events.counts.ub >= 1);
});

Deno.test("faithful: out-of-pool unmaps are trapped, not fatal", () => {
  const events = new EventLog();
  const core = newCore(256, { policy: "faithful", events });
  map(core, 5000);
  const before = Array.from(core.freeRun);
  // Far above: every index touched (index, index+1, and the left walk from index-1) is
  // out of bounds.
  core.unmapSingle(core.end + 0x100000, 4096, DMA_TO_DEVICE);
  assert(events.counts.ub >= 1, "ub event for far above");
  assertEquals(Array.from(core.freeRun), before, "in-pool counters unchanged (above)");
  const ub1 = events.counts.ub;
  // Far below: negative indices only.
  core.unmapSingle(START - 0x100000, 4096, DMA_TO_DEVICE);
  assert(events.counts.ub > ub1, "ub event for far below");
  assertEquals(Array.from(core.freeRun), before, "in-pool counters unchanged (below)");
  // Just below the start: no crash either.
  const ub2 = events.counts.ub;
  core.unmapSingle(START - SLOT, 2048, DMA_TO_DEVICE);
  assert(events.counts.ub > ub2, "ub event just below");
  assertEquals(core.freeRun.length, 256);
  assertEquals(core.stats.ubEvents, events.counts.ub);
});

Deno.test("faithful: an out-of-pool sync is trapped, not fatal", () => {
  const events = new EventLog();
  const core = newCore(256, { policy: "faithful", events });
  core.syncSingle(core.end + 0x100000, 64, DMA_TO_DEVICE, "device");
  assert(events.counts.ub >= 1);
});

// ---------------------------------------------------------------------------------------
// Scale

Deno.test("a 16 GiB pool (8,388,608 slots) constructs and works", () => {
  const nslabs = 8_388_608;
  const start = 0x1_0000_0000;
  const core = new SwiotlbCore({ nslabs, start });
  assertEquals(core.nslabs, nslabs);
  assertEquals(core.end, start + 16 * 1024 ** 3);
  assertEquals(core.freeRun.length, nslabs);
  assertEquals(core.origAddr.length, nslabs);
  assertEquals(core.freeRun[0], 128);
  assertEquals(core.freeRun[127], 1);
  assertEquals(core.freeRun[nslabs - 128], 128);
  assertEquals(core.freeRun[nslabs - 1], 1);
  assert(core.isSwiotlbBuffer(core.end - 1));
  assert(!core.isSwiotlbBuffer(core.end));
  const first = n(core.mapSingle({
    tblDmaAddr: start,
    orig: ORIG,
    size: 262144,
    dir: DMA_TO_DEVICE,
  }));
  assertEquals(first, start);
  assertEquals(core.hint, 128);
  // Put the hint near the end: 2 slots at nslabs - 8 (list = 8).
  core.hint = nslabs - 8;
  const tail = n(core.mapSingle({ tblDmaAddr: start, orig: ORIG, size: 4096, dir: DMA_TO_DEVICE }));
  assertEquals((n(tail) - start) / SLOT, nslabs - 8);
  assertEquals(core.hint, nslabs - 6);
  // A 128-slot map from there wraps to slot 0 (in use) and lands at 128.
  const wrapped = n(core.mapSingle({
    tblDmaAddr: start,
    orig: ORIG,
    size: 262144,
    dir: DMA_TO_DEVICE,
  }));
  assertEquals((n(wrapped) - start) / SLOT, 128);
  core.unmapSingle(first, 262144, DMA_TO_DEVICE);
  core.unmapSingle(tail, 4096, DMA_TO_DEVICE);
  core.unmapSingle(wrapped, 262144, DMA_TO_DEVICE);
  assertEquals(core.freeRun[0], 128);
  assertEquals(core.freeRun[nslabs - 8], 8);
  assertEquals(core.stats.slotsUsed, 0);
});
