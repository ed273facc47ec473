import { assert, assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { LabError } from "../lib/errors.ts";
import { SummaryBitset } from "../lib/xen/_bitset.ts";
import { DOMID_XEN, FREE, Machine } from "../lib/xen/mod.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Brute force: lowest (or highest) aligned fully-free extent below `limit` frames. */
function naiveAlloc(
  m: Machine,
  order: number,
  limit: number,
  fromTop: boolean,
): number | undefined {
  const size = 2 ** order;
  const starts: number[] = [];
  for (let s = 0; s + size <= Math.min(limit, m.nrFrames); s += size) starts.push(s);
  if (fromTop) starts.reverse();
  for (const s of starts) {
    let free = true;
    for (let f = s; f < s + size && free; f++) free = m.owner(f) === FREE;
    if (free) return s;
  }
  return undefined;
}

Deno.test("Machine constructs a 16 GiB machine in a few milliseconds", () => {
  const t = performance.now();
  const m = new Machine({ bytes: 16 * GiB });
  const ms = performance.now() - t;
  assertEquals(m.nrFrames, 4 * 1024 * 1024);
  assertEquals(m.freeFrames(), m.nrFrames);
  assertEquals([...m.freeBlocks()], [{ mfn: 0, count: m.nrFrames }]);
  assert(ms < 50, `construction took ${ms} ms`);
});

Deno.test("Machine rejects sizes that are not whole frames", () => {
  assertThrows(() => new Machine({ bytes: 0 }), LabError, "positive multiple of 4096");
  assertThrows(() => new Machine({ bytes: 4097 }), LabError, "positive multiple of 4096");
});

Deno.test("Machine.alloc picks the lowest naturally aligned free extent (worked example)", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  assertEquals(m.alloc(0, { owner: 1 }), 0);
  // Frame 1 is free but an order-1 extent must start on an even frame.
  assertEquals(m.alloc(1, { owner: 1 }), 2);
  assertEquals(m.alloc(0, { owner: 1 }), 1);
  // 0..3 are taken: the first free aligned 4-frame extent is 4.
  assertEquals(m.alloc(2, { owner: 1 }), 4);
  assertEquals(m.alloc(3, { owner: 1 }), 8);
  m.free(2, 1);
  // The freed hole is the lowest place for one frame again.
  assertEquals(m.alloc(0, { owner: 2 }), 2);
  assertEquals(m.owner(2), 2);
  assertEquals(m.owner(3), FREE);
  assertEquals(m.alloc(0, { owner: 2 }), 3);
  assertEquals(m.freeFrames(), 64 - 16);
});

Deno.test("Machine.alloc honours the address limit", () => {
  const m = new Machine({ bytes: 1 * MiB }); // 256 frames
  // 2^16 bytes = 16 frames: an order-4 extent fits exactly once, order 5 never.
  assertEquals(m.alloc(5, { addressBits: 16, owner: 1 }), undefined);
  assertEquals(m.alloc(4, { addressBits: 16, owner: 1 }), 0);
  assertEquals(m.alloc(0, { addressBits: 16, owner: 1 }), undefined);
  assertEquals(m.alloc(0, { addressBits: 17, owner: 1 }), 16);
  // Below one page nothing fits; 0 means no limit; a limit past the machine is no limit.
  assertEquals(m.alloc(0, { addressBits: 11, owner: 1 }), undefined);
  assertEquals(m.alloc(7, { addressBits: 0, owner: 1 }), 128);
  assertEquals(m.alloc(3, { addressBits: 40, owner: 1 }), 24);
  assertEquals(m.freeFrames(17), 32 - 17 - 8);
});

Deno.test("Machine.alloc with fromTop takes the highest fitting extent", () => {
  const m = new Machine({ bytes: 1 * MiB }); // 256 frames
  assertEquals(m.alloc(0, { fromTop: true, owner: 1 }), 255);
  // 254 is free but 254..255 is not: the highest free order-1 extent is 252.
  assertEquals(m.alloc(1, { fromTop: true, owner: 1 }), 252);
  assertEquals(m.alloc(0, { fromTop: true, owner: 1 }), 254);
  // Under a limit of 2^19 bytes = 128 frames the top extent ends at 128.
  assertEquals(m.alloc(2, { fromTop: true, addressBits: 19, owner: 1 }), 124);
  assertEquals(m.alloc(6, { fromTop: true, owner: 1 }), 128);
});

Deno.test("Machine.free coalesces buddies back into one block", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  const got = Array.from({ length: 64 }, () => m.alloc(0, { owner: 3 })!);
  assertEquals(got, Array.from({ length: 64 }, (_, i) => i));
  assertEquals(m.freeFrames(), 0);
  for (const f of [5, 1, 63, 0, 4, 2, 3, 6, 7]) m.free(f, 0);
  assertEquals([...m.freeBlocks()], [{ mfn: 63, count: 1 }, { mfn: 0, count: 8 }]);
  for (let f = 8; f < 63; f++) m.free(f, 0);
  assertEquals([...m.freeBlocks()], [{ mfn: 0, count: 64 }]);
});

Deno.test("Machine.free refuses double frees and misaligned extents", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  const a = m.alloc(2, { owner: 1 })!;
  assertThrows(() => m.free(a + 1, 2), LabError, "not aligned");
  m.free(a, 2);
  assertThrows(() => m.free(a, 2), LabError, "already free");
});

Deno.test("Machine handles a size that is not a power of two", () => {
  const m = new Machine({ bytes: 100 * 4096 });
  assertEquals(m.maxOrder, 6);
  assertEquals([...m.freeBlocks()].map((b) => [b.mfn, b.count]), [[96, 4], [64, 32], [0, 64]]);
  assertEquals(m.alloc(6, { fromTop: true, owner: 1 }), 0);
  assertEquals(m.alloc(6, { owner: 1 }), undefined);
  assertEquals(m.alloc(0, { fromTop: true, owner: 1 }), 99);
  m.free(0, 6);
  m.free(99, 0);
  assertEquals(m.freeFrames(), 100);
});

Deno.test("Machine.claim takes an arbitrary run and splits the blocks around it", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  m.claim(5, 10, 4);
  for (let f = 0; f < 64; f++) assertEquals(m.owner(f), f >= 5 && f < 15 ? 4 : FREE);
  assertEquals(m.freeFrames(), 54);
  assertEquals(m.alloc(2, { owner: 1 }), 0);
  assertEquals(m.alloc(0, { owner: 1 }), 4);
  assertEquals(m.alloc(0, { owner: 1 }), 15);
  assertThrows(() => m.claim(14, 2, 1), LabError, "belongs to dom4");
  m.freeRange(5, 10);
  assertEquals(m.owner(5), FREE);
});

Deno.test("Machine.topFreeRuns and topFreeContiguous search from the top of memory", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  m.claim(60, 2, 1);
  assertEquals(m.topFreeRuns(5), [{ mfn: 57, count: 3 }, { mfn: 62, count: 2 }]);
  assertEquals(m.topFreeContiguous(3), 57);
  assertEquals(m.topFreeContiguous(61), undefined);
  assertEquals(m.topFreeRuns(63), undefined);
});

Deno.test("Machine owner and m2p record who holds each frame", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  const mfn = m.alloc(1, { owner: DOMID_XEN })!;
  assertEquals(m.owner(mfn), DOMID_XEN);
  assertEquals(m.m2p(mfn), undefined);
  m.setM2p(mfn, 10);
  m.setM2p(mfn + 1, 11);
  assertEquals([m.m2p(mfn), m.m2p(mfn + 1)], [10, 11]);
  m.free(mfn, 1);
  assertEquals(m.m2p(mfn), undefined, "a free clears the m2p entry");
  assertThrows(() => m.owner(64), LabError, "outside machine memory");
  assertThrows(() => m.alloc(0, { owner: FREE }), LabError, "expected a domain id");
});

Deno.test("Machine memory is sparse: a 16 GiB machine reads and writes across frames", () => {
  const m = new Machine({ bytes: 16 * GiB });
  const top = 16 * GiB - 6;
  assertEquals(m.read(top, 6), new Uint8Array(6));
  const at = 12 * GiB + 4090;
  const bytes = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
  m.write(at, bytes);
  assertEquals(m.residentFrames, 2);
  assertEquals(m.read(at, 20), bytes);
  assertEquals(m.read(at + 6, 4), Uint8Array.of(7, 8, 9, 10));
  m.copy(at + 8192, at, 20);
  assertEquals(m.read(at + 8192, 20), bytes);
  m.copy(at + 2, at, 20); // overlapping
  assertEquals(m.read(at + 2, 20), bytes);
  m.zero(at, 22);
  assertEquals(m.read(at, 22), new Uint8Array(22));
  m.zero(12 * GiB + 8192, 4096 * 2);
  assertThrows(() => m.read(top, 7), LabError, "outside machine memory");
  assertThrows(() => m.write(-1, Uint8Array.of(1)), LabError, "outside machine memory");
});

Deno.test("Machine frame contents survive a free (new exchange frames hold old data)", () => {
  const m = new Machine({ bytes: 64 * 4096 });
  const mfn = m.alloc(0, { owner: 1 })!;
  m.write(mfn * 4096, Uint8Array.of(0xde, 0xad));
  m.free(mfn, 0);
  assertEquals(m.alloc(0, { owner: 2 }), mfn);
  assertEquals(m.read(mfn * 4096, 2), Uint8Array.of(0xde, 0xad));
});

type Op =
  | { kind: "alloc"; order: number; bits: number; top: boolean }
  | { kind: "free"; pick: number }
  | { kind: "claim"; at: number; count: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("alloc" as const),
    order: fc.integer({ min: 0, max: 7 }),
    bits: fc.constantFrom(0, 12, 14, 16, 18, 19, 20),
    top: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("claim" as const),
    at: fc.nat({ max: 255 }),
    count: fc.integer({ min: 1, max: 40 }),
  }),
);

Deno.test("Machine allocator property: random alloc/claim/free never hands a frame out twice", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(64, 100, 200, 256),
      fc.array(opArb, { minLength: 20, maxLength: 200, size: "max" }),
      (frames, ops) => {
        const m = new Machine({ bytes: frames * 4096 });
        const held = new Map<number, { count: number; order?: number }>();
        const taken = new Uint8Array(frames);
        let owned = 0;
        for (const op of ops) {
          if (op.kind === "alloc") {
            const limit = op.bits === 0 ? frames : Math.min(frames, 2 ** (op.bits - 12));
            const expected = naiveAlloc(m, op.order, limit, op.top);
            const mfn = m.alloc(op.order, { addressBits: op.bits, fromTop: op.top, owner: 1 });
            assertEquals(mfn, expected);
            if (mfn === undefined) continue;
            for (let f = mfn; f < mfn + 2 ** op.order; f++) {
              assertEquals(taken[f], 0, `frame ${f} handed out twice`);
              taken[f] = 1;
            }
            held.set(mfn, { count: 2 ** op.order, order: op.order });
            owned += 2 ** op.order;
          } else if (op.kind === "claim") {
            const count = Math.min(op.count, frames - (op.at % frames));
            const at = op.at % frames;
            if (taken.subarray(at, at + count).some((t) => t !== 0)) {
              assertThrows(() => m.claim(at, count, 2), LabError, "Cannot claim");
              continue;
            }
            m.claim(at, count, 2);
            taken.fill(1, at, at + count);
            held.set(at, { count });
            owned += count;
          } else if (held.size > 0) {
            const keys = [...held.keys()];
            const mfn = keys[op.pick % keys.length];
            const { count, order } = held.get(mfn)!;
            if (order === undefined) m.freeRange(mfn, count);
            else m.free(mfn, order);
            held.delete(mfn);
            taken.fill(0, mfn, mfn + count);
            owned -= count;
          }
          assertEquals(m.freeFrames() + owned, frames);
          assertEquals(
            [...m.freeBlocks()].reduce((n, b) => n + b.count, 0),
            frames - owned,
          );
          assertEquals(m.freeFrames(16), taken.subarray(0, 16).filter((t) => t === 0).length);
        }
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("SummaryBitset next/prev agree with a plain set across summary levels", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 70000 }),
      fc.array(fc.tuple(fc.boolean(), fc.nat()), { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
      (size, edits, probes) => {
        const s = new SummaryBitset(size);
        const model = new Set<number>();
        for (const [add, raw] of edits) {
          const i = raw % size;
          if (add) {
            s.add(i);
            model.add(i);
          } else {
            s.delete(i);
            model.delete(i);
          }
        }
        const sorted = [...model].sort((a, b) => a - b);
        for (const raw of probes) {
          const i = raw % size;
          assertEquals(s.has(i), model.has(i));
          assertEquals(s.next(i), sorted.find((x) => x >= i) ?? -1);
          assertEquals(s.prev(i), sorted.findLast((x) => x <= i) ?? -1);
        }
        assertEquals(s.next(0), sorted[0] ?? -1);
        assertEquals(s.prev(), sorted.at(-1) ?? -1);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("SummaryBitset walks four levels of a large set", () => {
  const s = new SummaryBitset(2 ** 21); // 65536 words: levels of 65536, 2048, 64, 2, 1
  for (const i of [3, 33000, 2 ** 21 - 1]) s.add(i);
  assertEquals(s.next(4), 33000);
  assertEquals(s.next(33001), 2 ** 21 - 1);
  assertEquals(s.prev(2 ** 21 - 2), 33000);
  assertEquals(s.prev(2), -1);
  s.delete(33000);
  assertEquals(s.next(4), 2 ** 21 - 1);
  assertEquals(s.prev(2 ** 20), 3);
  s.delete(3);
  s.delete(2 ** 21 - 1);
  assertEquals([s.next(0), s.prev()], [-1, -1]);
});
