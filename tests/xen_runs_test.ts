/**
 * RunTable (lib/xen/_runs.ts) against a plain array: every entry, every run boundary,
 * across chunk edges (a chunk is 4096 entries) and a short last chunk.
 */

import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { RunTable } from "../lib/xen/_runs.ts";

const CHUNK = 4096;

type Edit =
  | { kind: "set"; at: number; value: number }
  | { kind: "fill" | "rising"; at: number; len: number; value: number };

/** Positions near chunk edges are where flat and dense chunks meet: favour them. */
function position(size: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.nat({ max: size - 1 }),
    fc.tuple(fc.nat({ max: Math.floor((size - 1) / CHUNK) }), fc.integer({ min: -3, max: 3 }))
      .map(([c, d]) => Math.min(size - 1, Math.max(0, c * CHUNK + d))),
  );
}

/** Lengths near whole chunks too: an assignment that just misses a chunk's edge. */
const lengthArb = fc.oneof(
  fc.nat({ max: 70 }),
  fc.nat({ max: 3 * CHUNK }),
  fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: -2, max: 2 })).map(([k, d]) =>
    k * CHUNK + d
  ),
);

/**
 * Values: plain ones, or `at + k` (k = 0 or 1) so that separate edits line up into one
 * run (or nearly) across chunks, the case where a flat chunk of the other step matches
 * a run's next entry and must end it one entry later.
 */
function editArb(size: number): fc.Arbitrary<Edit> {
  const plain = fc.oneof(fc.constant(0), fc.nat({ max: 50 }), fc.nat({ max: 2 ** 30 }));
  const value = (at: number) => fc.oneof(plain, fc.integer({ min: 0, max: 1 }).map((k) => at + k));
  return fc.oneof(
    position(size).chain((at) =>
      fc.record({ kind: fc.constant("set" as const), at: fc.constant(at), value: value(at) })
    ),
    position(size).chain((at) =>
      fc.record({
        kind: fc.constantFrom("fill" as const, "rising" as const),
        at: fc.constant(at),
        len: lengthArb,
        value: value(at),
      })
    ),
  );
}

/** The run rules of RunTable.runEnd / runStart, entry by entry. */
function naiveRunEnd(a: Uint32Array, i: number, step: number, limit: number): number {
  const end = Math.min(limit, a.length);
  let j = i + 1;
  while (j < end && a[j] === a[i] + step * (j - i)) j++;
  return j;
}

function naiveRunStart(a: Uint32Array, i: number, step: number, floor: number): number {
  let j = i - 1;
  while (j >= floor && a[j] === a[i] - step * (i - j)) j--;
  return j + 1;
}

/** A size, an initial value, edits and probe ranges for that size. */
const caseArb = fc.constantFrom(1, 100, CHUNK, CHUNK + 1, 3 * CHUNK - 5, 4 * CHUNK).chain((size) =>
  fc.record({
    size: fc.constant(size),
    initial: fc.nat({ max: 2 ** 20 }),
    edits: fc.array(editArb(size), { maxLength: 25 }),
    probes: fc.array(fc.tuple(position(size), position(size)), { minLength: 1, maxLength: 15 }),
  })
);

Deno.test("RunTable.runEnd stays right when writes follow lookups (a chunk's run ends go stale)", () => {
  fc.assert(
    fc.property(caseArb, ({ size, initial, edits, probes }) => {
      const t = new RunTable(size, initial);
      t.fillRising(0, size, initial);
      const a = Uint32Array.from({ length: size }, (_, i) => initial + i);
      // The fragmented layouts' way in: a table made from an array, chunk by chunk.
      const u = RunTable.fromArray(a.slice());
      const check = () => {
        for (const [x, y] of probes) {
          const [lo, hi] = x <= y ? [x, y] : [y, x];
          for (const table of [t, u]) {
            assertEquals(table.runEnd(lo, 1), naiveRunEnd(a, lo, 1, size));
            assertEquals(table.runEnd(lo, 1, hi + 1), naiveRunEnd(a, lo, 1, hi + 1));
          }
        }
      };
      check();
      for (const e of edits) {
        const to = Math.min(size, e.at + (e.kind === "set" ? 1 : e.len));
        for (const table of [t, u]) {
          if (e.kind === "set") table.set(e.at, e.value);
          else if (e.kind === "fill") table.fill(e.at, to, e.value);
          else table.fillRising(e.at, to, e.value);
        }
        for (let i = e.at; i < to; i++) {
          a[i] = e.kind === "rising" ? e.value + i - e.at : e.value;
        }
        check();
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("RunTable agrees with a plain array over random sets, fills, runs and bounds", () => {
  fc.assert(
    fc.property(caseArb, ({ size, initial, edits, probes }) => {
      const t = new RunTable(size, initial);
      // Start from the identity half the time, so edits at `at + k` join its runs.
      if (initial % 2 === 0) t.fillRising(0, size, 0);
      const a = new Uint32Array(size).fill(initial);
      if (initial % 2 === 0) a.forEach((_, i) => (a[i] = i));
      for (const e of edits) {
        if (e.kind === "set") {
          t.set(e.at, e.value);
          a[e.at] = e.value;
          continue;
        }
        const to = Math.min(size, e.at + e.len);
        if (e.kind === "fill") t.fill(e.at, to, e.value);
        else t.fillRising(e.at, to, e.value);
        for (let i = e.at; i < to; i++) a[i] = e.kind === "fill" ? e.value : e.value + i - e.at;
      }
      for (let i = 0; i < size; i++) {
        if (t.get(i) !== a[i]) assertEquals({ i, got: t.get(i) }, { i, got: a[i] });
      }
      for (const [x, y] of probes) {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const part = a.subarray(lo, hi + 1);
        assertEquals(t.bounds(lo, hi + 1), { min: Math.min(...part), max: Math.max(...part) });
        for (const step of [0, 1] as const) {
          assertEquals(t.runEnd(lo, step), naiveRunEnd(a, lo, step, size));
          assertEquals(t.runEnd(lo, step, hi + 1), naiveRunEnd(a, lo, step, hi + 1));
          assertEquals(t.runStart(hi, step), naiveRunStart(a, hi, step, 0));
          assertEquals(t.runStart(hi, step, lo), naiveRunStart(a, hi, step, lo));
        }
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("RunTable keeps whole-chunk assignments flat and makes a broken run dense", () => {
  const t = new RunTable(10 * CHUNK + 7);
  t.fillRising(0, 10 * CHUNK + 7, 5000);
  assertEquals(t.denseChunks, 0);
  assertEquals(t.runEnd(0, 1), 10 * CHUNK + 7, "one run through every chunk");
  assertEquals(t.runEnd(0, 0), 1, "rising entries are no constant run");
  t.set(3 * CHUNK + 9, 5000 + 3 * CHUNK + 9); // the value it already had
  assertEquals(t.denseChunks, 0, "setting an entry to its own value makes nothing");
  t.fill(3 * CHUNK + 9, 3 * CHUNK + 10, 1);
  assertEquals([t.denseChunks, t.runEnd(0, 1), t.runStart(10 * CHUNK, 1)], [
    1,
    3 * CHUNK + 9,
    3 * CHUNK + 10,
  ]);
  t.fill(3 * CHUNK, 4 * CHUNK, 7); // the whole chunk again: flat
  assertEquals([t.denseChunks, t.get(3 * CHUNK + 9), t.runEnd(3 * CHUNK, 0)], [
    0,
    7,
    4 * CHUNK,
  ]);
});

Deno.test("RunTable: a flat chunk of the other step continues a run by one entry only", () => {
  const t = new RunTable(3 * CHUNK);
  t.fill(0, CHUNK, CHUNK - 1); // every entry CHUNK - 1: its last one precedes chunk 1's run
  t.fillRising(CHUNK, 2 * CHUNK, CHUNK);
  t.fill(2 * CHUNK, 3 * CHUNK, 2 * CHUNK); // its first entry follows chunk 1's run
  assertEquals(t.denseChunks, 0);
  assertEquals(t.runEnd(CHUNK + 5, 1), 2 * CHUNK + 1);
  assertEquals(t.runStart(CHUNK + 5, 1), CHUNK - 1);
  assertEquals(t.runEnd(0, 0), CHUNK);
  assertEquals(t.runStart(2 * CHUNK + 3, 0), 2 * CHUNK);
  assertEquals(t.runStart(2 * CHUNK, 1), CHUNK - 1, "one rising run over three chunks' edges");
});

/** An array made of pieces: rising runs, equal runs and stray entries, as layouts give. */
const piecesArb = fc.array(
  fc.record({
    kind: fc.constantFrom("rising", "equal", "stray"),
    len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: CHUNK - 2, max: CHUNK + 2 })),
    value: fc.nat({ max: 2 ** 30 }),
  }),
  { minLength: 1, maxLength: 12 },
).map((pieces) => {
  const out: number[] = [];
  for (const { kind, len, value } of pieces) {
    for (let k = 0; k < len; k++) {
      out.push(kind === "rising" ? value + k : kind === "equal" ? value : (value * (k + 7)) % 997);
    }
  }
  return Uint32Array.from(out);
});

Deno.test("RunTable.fromArray holds the array's entries; flat chunks for runs", () => {
  fc.assert(
    fc.property(piecesArb, fc.nat(), fc.nat(), (values, at, v) => {
      const copy = values.slice();
      const t = RunTable.fromArray(values);
      for (let i = 0; i < copy.length; i++) {
        if (t.get(i) !== copy[i]) assertEquals({ i, got: t.get(i) }, { i, got: copy[i] });
      }
      let irregular = 0;
      for (let start = 0; start < copy.length; start += CHUNK) {
        const part = copy.subarray(start, start + CHUNK);
        const rising = part.every((x, k) => x === part[0] + k);
        const equal = part.every((x) => x === part[0]);
        if (!rising && !equal) irregular++;
      }
      assertEquals(t.denseChunks, irregular, "exactly the chunks that are no run are arrays");
      // The table keeps working after taking the array over.
      const i = at % copy.length;
      t.set(i, v % 2 ** 32);
      assertEquals(t.get(i), v % 2 ** 32);
    }),
    { numRuns: 200 },
  );
});

Deno.test("RunTable.scatterRising stores first + k at each given index", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(50, CHUNK + 3, 3 * CHUNK),
      fc.array(fc.nat(), { maxLength: 300 }),
      fc.nat({ max: 2 ** 30 }),
      (size, raw, first) => {
        const at = Uint32Array.from(new Set(raw.map((r) => r % size)));
        const t = new RunTable(size);
        t.fillRising(0, size, 1000);
        const a = Uint32Array.from({ length: size }, (_, i) => 1000 + i);
        t.scatterRising(at, first);
        at.forEach((i, k) => (a[i] = first + k));
        for (let i = 0; i < size; i++) {
          if (t.get(i) !== a[i]) assertEquals({ i, got: t.get(i) }, { i, got: a[i] });
        }
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("RunTable.scatterRising refuses an index outside the table before storing", () => {
  const t = new RunTable(CHUNK);
  assertThrows(() => t.scatterRising(Uint32Array.of(5, CHUNK), 1), RangeError, "outside");
  assertEquals([t.get(5), t.denseChunks], [0, 0]);
});
