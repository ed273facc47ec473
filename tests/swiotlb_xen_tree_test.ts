/**
 * Unit and property tests for the RFC's bus→phys interval layer in
 * lib/swiotlb_xen/tree.ts: lookup (findInterval) and the overlap checker (intervalOverlaps).
 */

import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import fc from "fast-check";
import { RbTree, shape } from "../lib/rbtree.ts";
import {
  findInterval,
  type Interval,
  intervalOverlaps,
  type IntervalStep,
} from "../lib/swiotlb_xen/tree.ts";

const KIB = 1024;
const SEG = 256 * KIB;

// ---------------------------------------------------------------- intervals

function segTree(dmaSegments: number[]): RbTree<Interval> {
  const t = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  dmaSegments.forEach((s, j) =>
    t.insert({ dmaAddr: s * SEG, physAddr: 0x4000_0000 + j * SEG, size: SEG })
  );
  return t;
}

Deno.test("findInterval hits at the first, a middle and the last byte", () => {
  const t = segTree([4, 1, 9, 7, 2]);
  for (const off of [0, SEG / 2 + 123, SEG - 1]) {
    const n = findInterval(t, 7 * SEG + off);
    assertEquals(n?.entry.dmaAddr, 7 * SEG, `offset ${off}`);
    assertEquals(n?.entry.physAddr, 0x4000_0000 + 3 * SEG);
  }
});

Deno.test("findInterval misses just past the end and below the first interval", () => {
  const t = segTree([4, 1, 9, 7, 2]);
  assertStrictEquals(findInterval(t, 10 * SEG), null);
  assertStrictEquals(findInterval(t, 5 * SEG), null);
  assertStrictEquals(findInterval(t, SEG - 1), null);
  assertStrictEquals(findInterval(t, 0), null);
  assertStrictEquals(findInterval(new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr), 0), null);
});

Deno.test("findInterval records each comparison it makes", () => {
  const t = segTree([2, 1, 3]);
  assertEquals(shape(t, (e) => String(e.dmaAddr / SEG)), "2:B(1:R,3:R)");
  const walk = (x: number) => {
    const steps: IntervalStep[] = [];
    const n = findInterval(t, x, steps);
    return {
      hit: n?.entry.dmaAddr ?? null,
      steps: steps.map((s) => `${s.node.dmaAddr / SEG}:${s.cmp}`),
    };
  };
  assertEquals(walk(3 * SEG + SEG - 1), { hit: 3 * SEG, steps: ["2:right", "3:hit"] });
  assertEquals(walk(4 * SEG), { hit: null, steps: ["2:right", "3:right"] });
  assertEquals(walk(2 * SEG), { hit: 2 * SEG, steps: ["2:hit"] });
  assertEquals(walk(SEG - 1), { hit: null, steps: ["2:left", "1:left"] });
});

Deno.test("findInterval handles bus addresses far above 2^32", () => {
  const base = 2 ** 40;
  const t = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  for (let j = 0; j < 64; j++) t.insert({ dmaAddr: base + j * SEG, physAddr: j * SEG, size: SEG });
  assertEquals(findInterval(t, base + 17 * SEG + 5)!.entry.physAddr, 17 * SEG);
  assertStrictEquals(findInterval(t, base + 64 * SEG), null);
});

// ---------------------------------------------------------------- properties

Deno.test("findInterval agrees with a linear scan over random segment layouts", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 128 }),
      fc.array(fc.integer({ min: 0, max: 1025 * SEG }), { minLength: 1, maxLength: 50 }),
      (segs, xs) => {
        const t = segTree(segs);
        assertEquals(intervalOverlaps(t), []);
        assertEquals(t.validate({ unique: true }), []);
        for (const x of xs) {
          const want = segs.findIndex((s) => s * SEG <= x && x < (s + 1) * SEG);
          const steps: IntervalStep[] = [];
          const got = findInterval(t, x, steps);
          assertStrictEquals(findInterval(t, x), got);
          if (want < 0) assertStrictEquals(got, null);
          else assertEquals(got?.entry.dmaAddr, segs[want] * SEG);
          assert(steps.length <= t.height());
          assertEquals(steps.at(-1)!.cmp === "hit", got !== null);
        }
      },
    ),
  );
});

// ---------------------------------------------------------------- overlaps

Deno.test("intervalOverlaps() names both overlapping intervals, at the later one", () => {
  const t = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  t.insert({ dmaAddr: 0x80000, physAddr: 0x100000, size: SEG });
  t.insert({ dmaAddr: 0x0, physAddr: 0x140000, size: SEG });
  const late = t.insert({ dmaAddr: 0x20000, physAddr: 0x180000, size: SEG }).entry;
  // Shape: 0x20000 at root, 0x0 at root/l, 0x80000 at root/r. The tree is valid as a
  // tree; only the intervals are wrong.
  assertEquals(t.validate(), []);
  assertEquals(intervalOverlaps(t), [{
    rule: "overlap",
    path: "root",
    node: late,
    message: "overlap: node dma=0x0 phys=0x140000 at root/l [0x0, 0x40000) overlaps node " +
      "dma=0x20000 phys=0x180000 at root [0x20000, 0x60000)",
  }]);
  // A wide interval overlapping two others that are not its neighbours in order.
  const w = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  w.insert({ dmaAddr: 0x100000, physAddr: 0x0, size: 0x400000 });
  const mid = w.insert({ dmaAddr: 0x200000, physAddr: 0x1000000, size: SEG }).entry;
  const top = w.insert({ dmaAddr: 0x300000, physAddr: 0x2000000, size: SEG }).entry;
  assertEquals(intervalOverlaps(w, { key: (e) => (e.dmaAddr / SEG).toString() }), [{
    rule: "overlap",
    path: "root",
    node: mid,
    message: "overlap: node 4 at root/l [0x100000, 0x500000) overlaps node 8 at root " +
      "[0x200000, 0x240000)",
  }, {
    rule: "overlap",
    path: "root/r",
    node: top,
    message: "overlap: node 4 at root/l [0x100000, 0x500000) overlaps node 12 at root/r " +
      "[0x300000, 0x340000)",
  }]);
});
