/**
 * Differential test of the buddy allocator's batch path (SPEC §4 "Machine"): giving a
 * contiguous region back exchanges it for single frames from the top of memory, which
 * `Machine.allocTopFrames` takes in one pass. It must hand out the frames, and leave the
 * free blocks and owners, exactly as that many `alloc(0, { fromTop: true })` calls do —
 * on machines fragmented by random allocations, claims and frees, with a short last
 * bitmap word and too few free frames.
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { Machine } from "../lib/xen/mod.ts";

const FRAMES = 3 * 1024 + 37;

type Op =
  | { kind: "alloc"; order: number; top: boolean; bits: number }
  | { kind: "claim"; at: number; count: number }
  | { kind: "free"; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("alloc" as const),
    order: fc.integer({ min: 0, max: 7 }),
    top: fc.boolean(),
    bits: fc.constantFrom(0, 0, 20, 22, 23),
  }),
  fc.record({
    kind: fc.constant("claim" as const),
    at: fc.integer({ min: 0, max: FRAMES - 1 }),
    count: fc.integer({ min: 1, max: 300 }),
  }),
  fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }),
);

/** Runs `ops` on a fresh machine, remembering what it took so frees can give it back. */
function build(ops: Op[]): Machine {
  const m = new Machine({ bytes: FRAMES * 4096 });
  const held: { mfn: number; count: number }[] = [];
  for (const o of ops) {
    if (o.kind === "alloc") {
      const mfn = m.alloc(o.order, { addressBits: o.bits, fromTop: o.top, owner: 3 });
      if (mfn !== undefined) held.push({ mfn, count: 2 ** o.order });
    } else if (o.kind === "claim") {
      const count = Math.min(o.count, FRAMES - o.at);
      if (m.firstTaken(o.at, count) === undefined) {
        m.claim(o.at, count, 4);
        held.push({ mfn: o.at, count });
      }
    } else if (held.length > 0) {
      const [h] = held.splice(o.pick % held.length, 1);
      m.freeRange(h.mfn, h.count);
    }
  }
  return m;
}

function state(m: Machine) {
  const owners: number[] = [];
  for (let f = 0; f < m.nrFrames; f++) owners.push(m.owner(f));
  return { blocks: [...m.freeBlocks()], free: m.freeFrames(), owners };
}

Deno.test("Machine.allocTopFrames: the frames, free blocks and owners of as many single-frame allocations from the top", () => {
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 40 }),
      fc.integer({ min: 1, max: FRAMES + 10 }),
      (ops, count) => {
        const batch = build(ops);
        const single = build(ops);
        const got = batch.allocTopFrames(count, 9);
        const one: number[] = [];
        for (let i = 0; i < count; i++) {
          const f = single.alloc(0, { fromTop: true, owner: 9 });
          if (f === undefined) break;
          one.push(f);
        }
        if (one.length < count) {
          // Too few free: the batch takes nothing, as the calls' frames given back leave it.
          assertEquals(got, undefined);
          for (const f of one) single.free(f, 0);
        } else {
          assertEquals(got, one);
        }
        assertEquals(state(batch), state(single));
      },
    ),
    { numRuns: 300 },
  );
});
