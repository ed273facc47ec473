/**
 * The bitmap-backed core (lib/swiotlb/_bitmap.ts) against a plain eager model of SPEC §3
 * (tests/model/eager.ts) after every op, and against a core that keeps the kernel's eager
 * counters (`counters: "eager"`) for what the model does not know (refusals, UB events,
 * stats): random workloads on pools with and without a short last segment, with every
 * boundary mask from 2^9 - 1 to 2^40 - 1 and the 64-bit all-ones one, tables at aligned
 * and unaligned bus addresses, under both policies, with misuse (double and partial
 * unmaps, wrong sizes and directions, addresses outside the pool, bad syncs) mixed in.
 *
 * After every op: the chosen slot, probes, boundary skips and hint equal the model's;
 * stats, refusals and UB events equal the eager twin's; the core keeps its bitmap until
 * the first UB and not one op longer. The counters and orig_addr are compared with the
 * model every few ops (a random stride), so stale segments and orig_addr logs pile up
 * between reads; every bounce copy (what an unmap or a sync read of orig_addr) equals the
 * twin's.
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { ALL_ONES, type Mask } from "../lib/addr.ts";
import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../lib/direction.ts";
import { EventLog } from "../lib/events.ts";
import type { PhysMemory } from "../lib/memory.ts";
import { type Policy, SwiotlbCore } from "../lib/swiotlb/mod.ts";
import { EagerModel, nslotsOf } from "./model/eager.ts";

const SLOT = 2048;
const START = 0x1000_0000;

/** Every boundary mask 2^n - 1 from a quarter slot to 1 TiB, and the 64-bit all-ones. */
const MASKS: Mask[] = [...Array.from({ length: 32 }, (_, k) => 2 ** (k + 9) - 1), ALL_ONES];

/** Pools of whole segments, and pools whose last segment is short (odd ones too). */
const NSLABS = [128, 256, 512, 1024, 130, 200, 333, 640 + 64, 1031];

interface Device {
  mask: Mask;
  tbl: number;
}

const deviceArb: fc.Arbitrary<Device> = fc.record({
  mask: fc.constantFrom(...MASKS),
  tbl: fc.oneof(
    fc.constantFrom(0, START, START + 0x5800, START + 0x801, 0x1_2345_6000),
    fc.integer({ min: 0, max: 2 ** 40 }),
  ),
});

type Misuse = "double" | "size" | "inside" | "below" | "above" | "dir" | "sync-free" | "sync-long";

type Op =
  | { t: "map"; dev: number; size: number; dir: Direction }
  | { t: "unmap"; pick: number }
  | { t: "sync"; pick: number; off: number }
  | { t: "misuse"; how: Misuse; pick: number; k: number };

const sizeArb = fc.oneof(
  fc.integer({ min: 1, max: 8192 }),
  fc.integer({ min: 1, max: 300000 }),
  fc.constantFrom(1, 2048, 2049, 4096, 4097, 262144, 262145),
);
const dirArb = fc.constantFrom<Direction>(DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_BIDIRECTIONAL);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("map" as const),
      dev: fc.nat(2),
      size: sizeArb,
      dir: dirArb,
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("unmap" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("sync" as const), pick: fc.nat(), off: fc.nat(4095) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("misuse" as const),
      how: fc.constantFrom<Misuse>(
        "double",
        "size",
        "inside",
        "below",
        "above",
        "dir",
        "sync-free",
        "sync-long",
      ),
      pick: fc.nat(),
      k: fc.integer({ min: 1, max: 300 }),
    }),
  },
);

interface Live {
  index: number;
  size: number;
  dir: Direction;
}

/** A memory without bytes that records each copy as dst, src, len. */
function copies(log: number[]): PhysMemory {
  return {
    read: (_a, n) => new Uint8Array(n),
    write: () => {},
    copy: (dst, src, n) => log.push(dst, src, n),
  };
}

/** The error a call threw (its message), or null. */
function attempt(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function ubs(events: EventLog): string[] {
  return events.peek().filter((e) => e.kind === "ub").map((e) => e.message);
}

function sameArray(actual: ArrayLike<number>, expected: number[], what: string): void {
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) {
      assertEquals(Array.from(actual), expected, `${what}: first difference at ${i}`);
    }
  }
  assertEquals(actual.length, expected.length, `${what}: length`);
}

/** One sequence; returns how many ops ran while the fast core still had its bitmap. */
function run(
  policy: Policy,
  nslabs: number,
  devices: Device[],
  ops: Op[],
  readEvery: number,
): number {
  const fastEvents = new EventLog(), twinEvents = new EventLog();
  // No bytes, but every bounce copy is recorded: what orig_addr an unmap or a sync read.
  const fastCopies: number[] = [], twinCopies: number[] = [];
  const fast = new SwiotlbCore({
    nslabs,
    start: START,
    policy,
    events: fastEvents,
    memory: copies(fastCopies),
  });
  const twin = new SwiotlbCore({
    nslabs,
    start: START,
    policy,
    events: twinEvents,
    memory: copies(twinCopies),
    counters: "eager",
  });
  const model = new EagerModel(nslabs);
  const live: Live[] = [];
  const dead: Live[] = [];
  let onBitmap = 0;

  /** The same call on both cores: the same refusal, or none. */
  const both = (what: string, f: (c: SwiotlbCore) => unknown): boolean => {
    const a = attempt(() => f(fast));
    const b = attempt(() => f(twin));
    assertEquals(a, b, `${what}: refusal`);
    return a === null;
  };
  const unmapAt = (what: string, index: number, addr: number, size: number, dir: Direction) => {
    if (both(what, (c) => c.unmapSingle(addr, size, dir))) model.unmap(index, size);
  };

  ops.forEach((op, step) => {
    const what = `${policy} nslabs ${nslabs}, step ${step} ${JSON.stringify(op)}`;
    if (op.t === "map") {
      const d = devices[op.dev];
      const want = model.search(d.tbl, op.size, d.mask);
      const args = { tblDmaAddr: d.tbl, orig: START * 4 + step * SLOT, size: op.size, dir: op.dir };
      const addrs: unknown[] = [];
      const ok = both(what, (c) => addrs.push(c.mapSingle({ ...args, segBoundary: d.mask })));
      // Checked refuses a run past the end of a short last segment; faithful takes it.
      assertEquals(ok, !(want.pastEnd && policy === "checked"), `${what}: refused`);
      const got = fast.lastMap;
      assertEquals(
        [got.index, got.nslots, got.stride, got.probes, got.boundarySkips],
        [ok ? want.index : -1, want.nslots, want.stride, want.probes, want.boundarySkips],
        `${what}: search`,
      );
      assertEquals(twin.lastMap, got, `${what}: twin's search`);
      if (ok && want.index >= 0) {
        assertEquals(
          addrs,
          [START + want.index * SLOT, START + want.index * SLOT],
          `${what}: address`,
        );
        model.commit(want, args.orig);
        live.push({ index: want.index, size: op.size, dir: op.dir });
      }
    } else if (op.t === "unmap" || op.t === "sync") {
      const m = live.length ? live[op.pick % live.length] : undefined;
      if (!m) {
        // Nothing live: nothing to do.
      } else if (op.t === "sync") {
        const addr = START + m.index * SLOT;
        const off = op.off % m.size;
        const len = Math.max(1, Math.min(m.size - off, 512));
        both(what, (c) => c.syncSingle(addr + off, len, m.dir, "cpu"));
      } else {
        live.splice(live.indexOf(m), 1);
        dead.push(m);
        unmapAt(what, m.index, START + m.index * SLOT, m.size, m.dir);
      }
    } else {
      const pool = op.how === "double" ? dead : live;
      const m = pool.length ? pool[op.pick % pool.length] : undefined;
      if (op.how === "below" || op.how === "above" || !m) {
        // The kernel's index of an address outside the pool, below or past its end.
        const index = op.how === "below" ? -op.k : nslabs + op.k - 1;
        unmapAt(what, index, START + index * SLOT, op.k * 300, DMA_TO_DEVICE);
      } else if (op.how === "double") {
        unmapAt(what, m.index, START + m.index * SLOT, m.size, m.dir);
      } else if (op.how === "size") {
        const size = Math.max(1, m.size + (op.k % 2 ? SLOT * (op.k % 5 + 1) : -SLOT));
        if (both(what, (c) => c.unmapSingle(START + m.index * SLOT, size, m.dir))) {
          model.unmap(m.index, size);
          live.splice(live.indexOf(m), 1);
        }
      } else if (op.how === "inside") {
        // An address inside the mapping: the kernel's index drops the low 11 bits.
        const off = (op.k * 97) % (nslotsOf(m.size) * SLOT) || 1;
        const index = m.index + Math.floor(off / SLOT);
        if (both(what, (c) => c.unmapSingle(START + m.index * SLOT + off, m.size, m.dir))) {
          model.unmap(index, m.size);
          live.splice(live.indexOf(m), 1);
        }
      } else if (op.how === "dir") {
        const dir = m.dir === DMA_TO_DEVICE ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
        if (both(what, (c) => c.unmapSingle(START + m.index * SLOT, m.size, dir))) {
          model.unmap(m.index, m.size);
          live.splice(live.indexOf(m), 1);
        }
      } else if (op.how === "sync-free") {
        const d = dead.length ? dead[op.pick % dead.length] : m;
        both(what, (c) => c.syncSingle(START + d.index * SLOT, 64, DMA_FROM_DEVICE, "cpu"));
      } else {
        both(what, (c) => c.syncSingle(START + m.index * SLOT, m.size + op.k, m.dir, "device"));
      }
    }

    // After every op: the same hint, stats and UB events; the bitmap until the first UB.
    assertEquals(fast.hint, model.hint, `${what}: hint`);
    assertEquals(twin.hint, model.hint, `${what}: twin hint`);
    assertEquals(fast.stats, twin.stats, `${what}: stats`);
    assertEquals(fast.stats.slotsUsed, model.slotsUsed, `${what}: slots used`);
    assertEquals(ubs(fastEvents), ubs(twinEvents), `${what}: UB events`);
    assertEquals(fastCopies, twinCopies, `${what}: bounce copies (orig_addr read)`);
    fastCopies.length = twinCopies.length = 0;
    assertEquals(fast.eagerCounters, fast.stats.ubEvents > 0, `${what}: eager once UB`);
    if (!fast.eagerCounters) onBitmap++;
    if (step % readEvery === 0 || step === ops.length - 1) {
      sameArray(fast.freeRun, model.list, `${what}: io_tlb_list`);
      sameArray(twin.freeRun, model.list, `${what}: twin io_tlb_list`);
      sameArray(fast.origAddr, model.orig, `${what}: io_tlb_orig_addr`);
    }
  });
  return onBitmap;
}

/** Ops without misuse: a faithful core keeps its bitmap through them. */
const cleanOpArb = opArb.filter((o) => o.t !== "misuse");
/** Maps and unmaps alone: nothing reads orig_addr but the unmaps, so its logs fill up. */
const mapUnmapArb = opArb.filter((o) => o.t === "map" || o.t === "unmap");

/** A well-behaved stretch, then misuse mixed in: the bitmap first, the switch later. */
const seqArb = fc.record({
  nslabs: fc.constantFrom(...NSLABS),
  devices: fc.array(deviceArb, { minLength: 3, maxLength: 3 }),
  ops: fc.tuple(
    fc.constantFrom(cleanOpArb, mapUnmapArb).chain((op) =>
      fc.array(op, { maxLength: 300, size: "max" })
    ),
    fc.array(opArb, { minLength: 1, maxLength: 200, size: "max" }),
  ).map(([clean, mixed]) => [...clean, ...mixed]),
  // Mostly short, sometimes longer than a segment's orig_addr log (32 maps).
  readEvery: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 400 })),
});

for (const policy of ["checked", "faithful"] as const) {
  Deno.test(`bitmap core = eager model after every op (${policy}, misuse mixed in)`, () => {
    let ops = 0, onBitmap = 0;
    fc.assert(
      fc.property(seqArb, (s) => {
        ops += s.ops.length;
        onBitmap += run(policy, s.nslabs, s.devices, s.ops, s.readEvery);
      }),
      { numRuns: 250 },
    );
    // The bitmap must carry a good share of the ops, or the test proves little.
    assertEquals(onBitmap > ops / 4, true, `${onBitmap} of ${ops} ops on the bitmap`);
  });
}

Deno.test("bitmap core = eager model on well-behaved workloads (no UB: the bitmap all along)", () => {
  const wellBehaved = fc.record({
    nslabs: fc.constantFrom(128, 256, 1024, 4096),
    devices: fc.array(deviceArb, { minLength: 3, maxLength: 3 }),
    ops: fc.constantFrom(cleanOpArb, mapUnmapArb).chain((op) =>
      fc.array(op, { minLength: 1, maxLength: 600, size: "max" })
    ),
    readEvery: fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 600 })),
  });
  fc.assert(
    fc.property(wellBehaved, (s) => {
      for (const policy of ["checked", "faithful"] as const) {
        assertEquals(run(policy, s.nslabs, s.devices, s.ops, s.readEvery), s.ops.length);
      }
    }),
    { numRuns: 150 },
  );
});
