/**
 * Model-based tests of the swiotlb core: a tiny reference allocator written straight
 * from SPEC §3 (plain arrays, no cleverness) is driven side by side with SwiotlbCore by
 * random map/unmap sequences. The reference model is itself checked against the
 * Linux 3.11 vectors first, so a disagreement points at the core.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { MAP_ERROR, SwiotlbCore } from "../lib/swiotlb/mod.ts";
import { ALL_ONES, type Mask } from "../lib/addr.ts";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../lib/direction.ts";
import { EventLog } from "../lib/events.ts";

const SLOT = 2048;
const SEG = 128;
const START = 0x1000_0000;

// ---------------------------------------------------------------------------------------
// The reference model (SPEC §3, Linux 3.11 semantics)

function nslotsOf(size: number): number {
  return Math.ceil(size / SLOT);
}

/** `tbl & mask` for a mask 2^n - 1 or the 64-bit all-ones sentinel. */
function masked(tbl: number, mask: Mask): number {
  return typeof mask === "bigint" ? tbl : tbl % (mask + 1);
}

function maxSlotsOf(mask: Mask): number {
  return typeof mask === "bigint" ? 2 ** 53 : Math.ceil((mask + 1) / SLOT);
}

/** iommu_is_span_boundary in slot units. */
function crossesBoundary(index: number, nslots: number, offsetSlots: number, maxSlots: number) {
  return ((offsetSlots + index) % maxSlots) + nslots > maxSlots;
}

class RefModel {
  readonly list: number[] = [];
  hint = 0;

  constructor(readonly nslabs: number) {
    for (let i = 0; i < nslabs; i++) this.list.push(SEG - (i % SEG));
  }

  /** Slot index chosen, or -1 (SWIOTLB_MAP_ERROR). */
  map(tbl: number, size: number, mask: Mask): number {
    const nslots = nslotsOf(size);
    const offsetSlots = Math.ceil(masked(tbl, mask) / SLOT);
    const maxSlots = maxSlotsOf(mask);
    const stride = size > 4096 ? 2 : 1;
    let index = Math.ceil(this.hint / stride) * stride;
    if (index >= this.nslabs) index = 0;
    const wrap = index;
    do {
      if (
        !crossesBoundary(index, nslots, offsetSlots, maxSlots) && this.list[index] >= nslots
      ) {
        for (let i = index; i < index + nslots; i++) this.list[i] = 0;
        let count = 0;
        for (let i = index - 1; i >= 0 && i % SEG !== SEG - 1 && this.list[i] !== 0; i--) {
          this.list[i] = ++count;
        }
        this.hint = index + nslots < this.nslabs ? index + nslots : 0;
        return index;
      }
      index += stride;
      if (index >= this.nslabs) index = 0;
    } while (index !== wrap);
    return -1;
  }

  unmap(index: number, size: number): void {
    const nslots = nslotsOf(size);
    const segEnd = (Math.floor(index / SEG) + 1) * SEG;
    let count = index + nslots < segEnd ? this.list[index + nslots] : 0;
    for (let i = index + nslots - 1; i >= index; i--) this.list[i] = ++count;
    for (let i = index - 1; i >= 0 && i % SEG !== SEG - 1 && this.list[i] !== 0; i--) {
      this.list[i] = ++count;
    }
  }
}

function bootList(nslabs: number): number[] {
  return Array.from({ length: nslabs }, (_, i) => SEG - (i % SEG));
}

interface Live {
  index: number;
  nslots: number;
  size: number;
  orig: number;
  dir: Direction;
}

/**
 * The invariant, recomputed from the live mappings alone: a used slot reads 0; a free
 * slot reads the length of the free run from it to the next used slot or its segment's
 * end, whichever comes first.
 */
function recompute(nslabs: number, live: Live[]): number[] {
  const used = new Uint8Array(nslabs);
  for (const m of live) used.fill(1, m.index, m.index + m.nslots);
  const out = new Array<number>(nslabs).fill(0);
  for (let i = nslabs - 1; i >= 0; i--) {
    if (used[i]) continue;
    const lastInSeg = i % SEG === SEG - 1;
    out[i] = lastInSeg || i + 1 >= nslabs ? 1 : out[i + 1] + 1;
  }
  return out;
}

/** Fast array comparison; falls back to assertEquals for a readable diff. */
function assertSameCounters(got: ArrayLike<number>, want: number[], what: string): void {
  if (got.length === want.length) {
    let same = true;
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) {
        same = false;
        break;
      }
    }
    if (same) return;
  }
  const first = Array.from(want).findIndex((w, i) => got[i] !== w);
  assertEquals(
    Array.from(got),
    want,
    `${what}: first difference at slot ${first}`,
  );
}

// ---------------------------------------------------------------------------------------
// The model is kernel-exact (so that the properties below test the core, not the model)

Deno.test("reference model reproduces the Linux 3.11 vectors", async () => {
  const cases = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/swiotlb-alloc.json", import.meta.url)),
  ) as {
    name: string;
    nslabs: number;
    seg_boundary_mask: number;
    tbl_dma_addr: number;
    ops: { op: string; size: number; of?: number; expect_slot?: number }[];
    final_list: number[];
    final_index: number;
  }[];
  for (const c of cases) {
    const model = new RefModel(c.nslabs);
    const slots: number[] = [];
    c.ops.forEach((op, i) => {
      if (op.op === "map") {
        slots[i] = model.map(c.tbl_dma_addr, op.size, c.seg_boundary_mask);
        assertEquals(slots[i], op.expect_slot, `${c.name}: op ${i}`);
      } else {
        model.unmap(slots[op.of!], op.size);
      }
    });
    assertEquals(model.list, c.final_list, c.name);
    assertEquals(model.hint, c.final_index, c.name);
  }
});

// ---------------------------------------------------------------------------------------
// Random sequences

type Op =
  | { t: "map"; size: number; mask: Mask; tbl: number; orig: number; dir: Direction }
  | { t: "unmap"; pick: number };

const MASKS = [0xffffffff, 0xffff, 0x3ffff, ALL_ONES];

const tblArb = fc.oneof(
  fc.constant(START), // the usual case: the table's bus address equals its phys start
  fc.integer({ min: 0, max: 0x7ffff }).map((o) => START + o), // offset, not slot aligned
  fc.integer({ min: 0, max: 2 ** 30 }).map((s) => s * SLOT), // an unrelated bus base
  fc.integer({ min: 0, max: 2 ** 45 }), // anything
  fc.integer({ min: 0, max: 512 }).map((k) => 2 ** 32 - k * SLOT), // just under 4 GiB
);

const dirArb = fc.constantFrom<Direction>(DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE);

function mapArb(sizeArb: fc.Arbitrary<number>): fc.Arbitrary<Op> {
  return fc.record({
    t: fc.constant("map" as const),
    size: sizeArb,
    mask: fc.constantFrom(...MASKS),
    tbl: tblArb,
    orig: fc.integer({ min: 1, max: 2 ** 40 }),
    dir: dirArb,
  });
}

const unmapArb: fc.Arbitrary<Op> = fc.record({
  t: fc.constant("unmap" as const),
  pick: fc.nat(),
});

/** Sizes 1..300000 (up to 146 slots, so some always fail), biased to small ones too. */
const anySize = fc.oneof(
  fc.integer({ min: 1, max: 300000 }),
  fc.integer({ min: 1, max: 8192 }),
  fc.constantFrom(1, 2048, 2049, 4096, 4097, 262144, 262145),
);

/** Runs one sequence on the core and the model side by side and checks every invariant. */
function runSequence(nslabs: number, ops: Op[], unmapReversed: boolean): void {
  const events = new EventLog();
  const core = new SwiotlbCore({ nslabs, start: START, events });
  const twin = new SwiotlbCore({ nslabs, start: START, policy: "faithful", events });
  const model = new RefModel(nslabs);
  const live: Live[] = [];

  const check = (what: string) => {
    assertSameCounters(core.freeRun, model.list, `${what}: core vs model`);
    assertSameCounters(core.freeRun, recompute(nslabs, live), `${what}: invariant`);
    assertSameCounters(twin.freeRun, model.list, `${what}: faithful twin vs model`);
    assertEquals(core.hint, model.hint, `${what}: hint`);
    assertEquals(twin.hint, model.hint, `${what}: faithful twin hint`);
  };

  ops.forEach((op, step) => {
    if (op.t === "map") {
      const args = { tblDmaAddr: op.tbl, orig: op.orig, size: op.size, dir: op.dir };
      const segBoundary = op.mask;
      const addr = core.mapSingle({ ...args, segBoundary });
      const twinAddr = twin.mapSingle({ ...args, segBoundary });
      const expected = model.map(op.tbl, op.size, op.mask);
      const slot = addr === MAP_ERROR ? -1 : (addr - START) / SLOT;
      const what = `step ${step}: map size ${op.size} mask ${op.mask} tbl ${op.tbl}`;
      assertEquals(slot, expected, `${what}: chosen slot`);
      assertEquals(twinAddr, addr, `${what}: faithful twin`);
      if (slot >= 0) {
        const nslots = nslotsOf(op.size);
        // Inside one segment.
        assertEquals(
          Math.floor(slot / SEG),
          Math.floor((slot + nslots - 1) / SEG),
          `${what}: crosses a segment`,
        );
        // Not across the boundary mask (the kernel's test, in slot units) …
        const offsetSlots = Math.ceil(masked(op.tbl, op.mask) / SLOT);
        assert(
          !crossesBoundary(slot, nslots, offsetSlots, maxSlotsOf(op.mask)),
          `${what}: crosses the boundary mask`,
        );
        // … which, for a slot-aligned table base, means the bus range does not cross.
        if (op.tbl % SLOT === 0 && typeof op.mask === "number") {
          const bus = op.tbl + slot * SLOT;
          const span = op.mask + 1;
          assertEquals(
            Math.floor(bus / span),
            Math.floor((bus + nslots * SLOT - 1) / span),
            `${what}: bus range crosses a ${span}-byte boundary`,
          );
        }
        // No overlap with a live mapping.
        for (const m of live) {
          assert(
            slot + nslots <= m.index || m.index + m.nslots <= slot,
            `${what}: overlaps live mapping at slot ${m.index}`,
          );
        }
        // orig recorded per slot.
        for (let k = 0; k < nslots; k++) {
          assertEquals(core.origAddr[slot + k], op.orig + k * SLOT, `${what}: origAddr`);
        }
        live.push({ index: slot, nslots, size: op.size, orig: op.orig, dir: op.dir });
      }
      check(what);
    } else if (live.length > 0) {
      const [m] = live.splice(op.pick % live.length, 1);
      const addr = START + m.index * SLOT;
      core.unmapSingle(addr, m.size, m.dir);
      twin.unmapSingle(addr, m.size, m.dir);
      model.unmap(m.index, m.size);
      check(`step ${step}: unmap slot ${m.index} size ${m.size}`);
    }
  });

  // Unmapping everything restores the boot counters (the hint may be anywhere).
  const order = unmapReversed ? [...live].reverse() : [...live];
  for (const m of order) {
    core.unmapSingle(START + m.index * SLOT, m.size, m.dir);
    twin.unmapSingle(START + m.index * SLOT, m.size, m.dir);
    model.unmap(m.index, m.size);
  }
  live.length = 0;
  const boot = bootList(nslabs);
  assertSameCounters(core.freeRun, boot, "after unmapping everything");
  assertSameCounters(twin.freeRun, boot, "faithful twin after unmapping everything");
  assertSameCounters(model.list, boot, "model after unmapping everything");
  assertEquals(core.stats.slotsUsed, 0);
  assertEquals(events.counts.ub, 0, "valid sequences report no undefined behaviour");
}

Deno.test("property: core matches the reference model on random map/unmap sequences", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(128, 256, 512, 1024),
      fc.array(
        fc.oneof({ arbitrary: mapArb(anySize), weight: 3 }, { arbitrary: unmapArb, weight: 2 }),
        { maxLength: 150, size: "max" },
      ),
      fc.boolean(),
      (nslabs, ops, reversed) => runSequence(nslabs, ops, reversed),
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: small mappings with heavy churn (left walks, holes, wraps)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(128, 256),
      fc.array(
        fc.oneof(
          { arbitrary: mapArb(fc.integer({ min: 1, max: 12288 })), weight: 1 },
          { arbitrary: unmapArb, weight: 1 },
        ),
        { maxLength: 300, size: "max" },
      ),
      fc.boolean(),
      (nslabs, ops, reversed) => runSequence(nslabs, ops, reversed),
    ),
    { numRuns: 200 },
  );
});

Deno.test("property: the invariant recomputation agrees with the model's own counters", () => {
  // Sanity check of the test's helpers: in the boot state and after one mapping.
  assertEquals(recompute(256, []), bootList(256));
  const model = new RefModel(256);
  const slot = model.map(START, 5000, 0xffffffff);
  assertEquals(
    recompute(256, [{ index: slot, nslots: 3, size: 5000, orig: 1, dir: DMA_TO_DEVICE }]),
    model.list,
  );
});
