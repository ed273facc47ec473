/**
 * Differential test of the bounce copy (swiotlb_bounce, SPEC §3 and §7 "Data moves for
 * real"): `Domain.copy` and `Machine.copy` go frame to frame in pieces bounded by both
 * page grids and contiguity runs, and fall back to reading the whole source first when
 * the ranges may share a frame. Each is checked against what a copy means — the whole
 * source read, then written — on a twin built the same way: random sizes and offsets
 * straddling pages and runs, overlapping ranges in both directions, unwritten frames
 * (read as zeros), and pages aliased onto one frame by hand.
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { type Domain, Machine, Xen } from "../lib/xen/mod.ts";

const PAGE = 4096;
/** 96 pages: enough for page grids, runs of 1–64 pages and overlaps. */
const PAGES = 96;
const SPAN = PAGES * PAGE;

/** A fragmented PV guest and its twin, the same bytes written into both. */
function twins(seed: number, fill: { at: number; len: number; byte: number }[]): Domain[] {
  return [0, 1].map(() => {
    const xen = new Xen({ machineBytes: 2 ** 27, seed });
    const dom = xen.createDomain({
      nrPages: PAGES,
      autotranslate: false,
      iommu: false,
      dom0: false,
      arch: "x86",
      layout: "fragmented",
      seed,
    });
    for (const f of fill) dom.write(f.at, new Uint8Array(f.len).fill(f.byte));
    return dom;
  });
}

const fills = fc.array(
  fc.record({
    at: fc.integer({ min: 0, max: SPAN - 1 }),
    len: fc.integer({ min: 1, max: 3 * PAGE }),
    byte: fc.integer({ min: 1, max: 255 }),
  }).map((f) => ({ ...f, len: Math.min(f.len, SPAN - f.at) })),
  { maxLength: 6 },
);

/** A copy within the guest: any lengths and offsets, overlapping ones included. */
const copies = fc.array(
  fc.record({
    src: fc.integer({ min: 0, max: SPAN - 1 }),
    dst: fc.integer({ min: 0, max: SPAN - 1 }),
    len: fc.oneof(
      fc.integer({ min: 0, max: 2 * PAGE + 17 }),
      fc.constantFrom(PAGE, 2048, 64 * 1024, 256 * 1024),
    ),
    /** Pull dst near src, so that overlaps and equal pages come up often. */
    near: fc.option(fc.integer({ min: -2 * PAGE, max: 2 * PAGE }), { nil: undefined }),
  }).map((c) => {
    const dst = c.near === undefined ? c.dst : Math.min(Math.max(0, c.src + c.near), SPAN - 1);
    const len = Math.min(c.len, SPAN - c.src, SPAN - dst);
    return { src: c.src, dst, len };
  }),
  { minLength: 1, maxLength: 8 },
);

Deno.test("Domain.copy: the same bytes and resident frames as reading the source whole, then writing it", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fills, copies, (seed, fill, ops) => {
      const [fast, plain] = twins(seed, fill);
      for (const c of ops) {
        fast.copy(c.dst, c.src, c.len);
        plain.write(c.dst, plain.read(c.src, c.len));
      }
      assertEquals(fast.read(0, SPAN), plain.read(0, SPAN));
      // Zeros copied from an unwritten frame never make a frame (they may forget one).
      assert(fast.machine.residentFrames <= plain.machine.residentFrames);
    }),
    { numRuns: 300 },
  );
});

Deno.test("Domain.copy: zeros from an unwritten page cost nothing where they land", () => {
  const [d] = twins(1, []);
  d.write(2 * PAGE, new Uint8Array(PAGE).fill(7));
  d.write(3 * PAGE, new Uint8Array(PAGE).fill(7));
  const before = d.machine.residentFrames;
  // Page 0 was never written: a whole page of it over page 2 forgets page 2's frame; part
  // of one over page 3 zeroes those bytes; over page 5 (unwritten) it makes nothing.
  d.copy(2 * PAGE, 0, PAGE);
  d.copy(3 * PAGE + 100, 0, 200);
  d.copy(5 * PAGE, 0, PAGE);
  assertEquals(d.machine.residentFrames, before - 1);
  assertEquals(d.read(2 * PAGE, PAGE), new Uint8Array(PAGE));
  const p3 = d.read(3 * PAGE, PAGE);
  assertEquals([p3[99], p3[100], p3[299], p3[300]], [7, 0, 0, 7]);
});

Deno.test("Domain.copy: a destination page aliased onto a later source page's frame still copies as one read, then one write", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1000 }),
      fills,
      fc.record({
        s: fc.integer({ min: 0, max: PAGES / 2 - 4 }),
        d: fc.integer({ min: PAGES / 2, max: PAGES - 4 }),
        pages: fc.integer({ min: 2, max: 4 }),
        k: fc.nat(),
        j: fc.nat(),
        srcOff: fc.integer({ min: 0, max: PAGE - 1 }),
        dstOff: fc.integer({ min: 0, max: PAGE - 1 }),
        swap: fc.boolean(),
      }),
      (seed, fill, c) => {
        // Source page s+k and destination page d+j (j < k) share a frame: a copy that
        // wrote page d+j before reading page s+k would read its own output.
        const k = 1 + (c.k % (c.pages - 1));
        const j = c.j % k;
        const doms = twins(seed, fill);
        const [sp, dp] = c.swap ? [c.d, c.s] : [c.s, c.d];
        for (const dom of doms) dom.remap(dp + j, dom.pfnToMfn(sp + k));
        const [fast, plain] = doms;
        const src = sp * PAGE + c.srcOff;
        const dst = dp * PAGE + c.dstOff;
        const len = (c.pages - 1) * PAGE;
        fast.copy(dst, src, len);
        plain.write(dst, plain.read(src, len));
        assertEquals(fast.read(0, SPAN), plain.read(0, SPAN));
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("Machine.copy: frame to frame, overlapping either way, as memmove", () => {
  const FRAMES = 8;
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: FRAMES - 1 }), { maxLength: 5 }),
      fc.array(
        fc.record({
          src: fc.integer({ min: 0, max: FRAMES * PAGE - 1 }),
          dst: fc.integer({ min: 0, max: FRAMES * PAGE - 1 }),
          len: fc.integer({ min: 0, max: 3 * PAGE }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      (written, ops) => {
        const [fast, plain] = [0, 1].map(() => {
          const m = new Machine({ bytes: FRAMES * PAGE });
          for (const f of written) {
            m.write(
              f * PAGE + 5,
              Uint8Array.from({ length: PAGE - 9 }, (_, i) => (i * 7 + f) & 255),
            );
          }
          return m;
        });
        for (const c of ops) {
          const len = Math.min(c.len, FRAMES * PAGE - c.src, FRAMES * PAGE - c.dst);
          fast.copy(c.dst, c.src, len);
          plain.write(c.dst, plain.read(c.src, len));
        }
        assertEquals(fast.read(0, FRAMES * PAGE), plain.read(0, FRAMES * PAGE));
        assert(fast.residentFrames <= plain.residentFrames);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("Domain.copy refuses a range outside the guest as a read would, then as a write would", () => {
  const [dom] = twins(1, []);
  assertThrows(() => dom.copy(0, SPAN - 10, 20), Error, "Cannot read 20 bytes");
  assertThrows(() => dom.copy(SPAN - 10, 0, 20), Error, "Cannot write 20 bytes");
});
