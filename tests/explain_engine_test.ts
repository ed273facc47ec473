/**
 * The facts `explain on` records: the slot search's steps (worked out by hand from SPEC
 * §3's rules), its bound, its agreement with the core's own search on random workloads,
 * the bus→phys tree's steps through xen_dma_add_entry and erase, and silence while
 * explaining is off. The REPL's words for them are tested in tests/explain_render_test.ts.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { ALL_ONES, type Mask } from "../lib/addr.ts";
import { DMA_TO_DEVICE } from "../lib/direction.ts";
import { EventLog } from "../lib/events.ts";
import type { ExplainStep, SlotStep } from "../lib/explain.ts";
import { Guest } from "../lib/guest/mod.ts";
import { MAX_DETAIL } from "../lib/swiotlb/explain.ts";
import { MAP_ERROR, SwiotlbCore } from "../lib/swiotlb/mod.ts";
import {
  newBusTree,
  xenDmaAddEntry,
  type XenDmaInfo,
  xenDmaRemoveEntry,
} from "../lib/swiotlb_xen/tree.ts";

const START = 0x100000;
const SLOT = 2048;

function explaining(): EventLog {
  const events = new EventLog();
  events.explaining = true;
  return events;
}

/**
 * Sets the free list of a 256-slot pool: `used` slots read 0, the rest count their runs.
 * Written by hand, so the core must keep the kernel's eager counters (`counters: "eager"`):
 * a bitmap-backed core would not see the writes.
 */
function withUsed(core: SwiotlbCore, used: (i: number) => boolean): void {
  const list = core.freeRun;
  for (let i = core.nslabs - 1; i >= 0; i--) {
    const last = (i & 127) === 127;
    list[i] = used(i) ? 0 : last ? 1 : list[i + 1] + 1;
  }
}

Deno.test("explainSlotSearch: the hint, a boundary skip, the wrap, misses and the slot taken (SPEC §3 by hand)", () => {
  const events = explaining();
  const core = new SwiotlbCore({ nslabs: 256, start: START, events, counters: "eager" });
  // Slots 0-5 and 248-255 in use; the search starts at the hint 250.
  withUsed(core, (i) => i < 6 || i >= 248);
  core.hint = 250;
  // An 8 KiB map: nslots 4, stride 2 (size > 4096). Boundary mask 0x3fff: max_slots = 8;
  // the table at bus 0x2000: offset_slots = 4. An index crosses when
  // ((4 + index) mod 8) + 4 > 8, i.e. index mod 8 in {1, 2, 3}: among even indices,
  // those with index mod 8 = 2.
  const slot = core.mapSingle({
    tblDmaAddr: 0x2000,
    orig: 0x900000,
    size: 8192,
    dir: DMA_TO_DEVICE,
    segBoundary: 0x3fff,
  });
  // 250 crosses (250 mod 8 = 2), 252 and 254 are in use, 256 wraps to 0, 0 is in use, 2
  // crosses, 4 is in use, 6 has 122 free: taken after 7 probes, hint 6 + 4 = 10.
  assertEquals(slot, START + 6 * SLOT);
  assertEquals(events.drainExplained(), [
    {
      kind: "slot-start",
      size: 8192,
      nslots: 4,
      stride: 2,
      hint: 250,
      index: 250,
      nslabs: 256,
      offsetSlots: 4,
      maxSlots: 8,
    },
    { kind: "slot-boundary", first: 250, last: 250, count: 1 },
    { kind: "slot-short", index: 252, free: 0 },
    { kind: "slot-short", index: 254, free: 0 },
    { kind: "slot-wrap", after: 254 },
    { kind: "slot-short", index: 0, free: 0 },
    { kind: "slot-boundary", first: 2, last: 2, count: 1 },
    { kind: "slot-short", index: 4, free: 0 },
    {
      kind: "slot-taken",
      index: 6,
      free: 122,
      nslots: 4,
      probes: 7,
      boundarySkips: 2,
      hint: 10,
    },
  ]);
  assertEquals([core.lastMap.probes, core.lastMap.boundarySkips, core.hint], [7, 2, 10]);
});

Deno.test("explainSlotSearch: a long run of misses is summarised, a full pool fails back at the start", () => {
  const events = explaining();
  const core = new SwiotlbCore({ nslabs: 256, start: START, events, counters: "eager" });
  withUsed(core, () => true);
  const r = core.mapSingle({ tblDmaAddr: START, orig: 0x900000, size: 2048, dir: DMA_TO_DEVICE });
  assertEquals(r, MAP_ERROR);
  assertEquals(events.drainExplained(), [
    {
      kind: "slot-start",
      size: 2048,
      nslots: 1,
      stride: 1,
      hint: 0,
      index: 0,
      nslabs: 256,
      offsetSlots: Math.ceil((START % 2 ** 32) / SLOT),
      // A 4 GiB boundary is out of reach of a 256-slot pool.
      maxSlots: null,
    },
    { kind: "slot-short", index: 0, free: 0 },
    { kind: "slot-short", index: 1, free: 0 },
    { kind: "slot-short", index: 2, free: 0 },
    { kind: "slot-short-run", first: 3, last: 255, count: 253 },
    { kind: "slot-wrap", after: 255 },
    { kind: "slot-full", index: 0, probes: 256, boundarySkips: 0 },
  ]);
});

Deno.test("explainSlotSearch: past the step budget misses and skips are only counted", () => {
  const events = explaining();
  const core = new SwiotlbCore({ nslabs: 256, start: START, events, counters: "eager" });
  withUsed(core, () => true);
  // A 4 KiB map under a 4 KiB boundary (max_slots 2): every odd index crosses, every even
  // one is in use, so misses and skips alternate 128 times each.
  core.mapSingle({
    tblDmaAddr: 0,
    orig: 0x900000,
    size: 4096,
    dir: DMA_TO_DEVICE,
    segBoundary: 0xfff,
  });
  const steps = events.drainExplained() as SlotStep[];
  assert(steps.length <= MAX_DETAIL + 6, `${steps.length} steps`);
  let short = 0;
  let boundary = 0;
  for (const s of steps) {
    if (s.kind === "slot-short") short++;
    if (s.kind === "slot-short-run") short += s.count;
    if (s.kind === "slot-boundary") boundary += s.count;
    if (s.kind === "slot-elided") {
      short += s.short;
      boundary += s.boundary;
    }
  }
  assertEquals([short, boundary], [128, 128]);
  assertEquals(steps.at(-1), { kind: "slot-full", index: 0, probes: 256, boundarySkips: 128 });
  assertEquals(steps.filter((s) => s.kind === "slot-wrap").length, 1);
});

Deno.test("explainSlotSearch agrees with the core's search on random workloads, within its bound", () => {
  const masks: Mask[] = [0xffffffff, 0xffff, 0x3fff, 0xfff, ALL_ONES];
  const op = fc.oneof(
    fc.record({
      t: fc.constant("map" as const),
      size: fc.integer({ min: 1, max: 128 * SLOT }),
      mask: fc.constantFrom(...masks),
      tbl: fc.integer({ min: 0, max: 2 ** 34 }),
    }),
    fc.record({ t: fc.constant("unmap" as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const events = explaining();
      const core = new SwiotlbCore({ nslabs: 512, start: START, events });
      const live: { addr: number; size: number }[] = [];
      for (const o of ops) {
        if (o.t === "unmap") {
          if (live.length === 0) continue;
          const [m] = live.splice(o.pick % live.length, 1);
          core.unmapSingle(m.addr, m.size, DMA_TO_DEVICE);
          continue;
        }
        // The core throws when the narrated walk and its own search disagree.
        const addr = core.mapSingle({
          tblDmaAddr: o.tbl,
          orig: 0x900000,
          size: o.size,
          dir: DMA_TO_DEVICE,
          segBoundary: o.mask,
        });
        const steps = events.drainExplained() as SlotStep[];
        assert(steps.length <= MAX_DETAIL + 6);
        const end = steps.at(-1)!;
        const out = core.lastMap;
        if (end.kind !== "slot-taken" && end.kind !== "slot-full") throw new Error(end.kind);
        assertEquals(end.kind, addr === MAP_ERROR ? "slot-full" : "slot-taken");
        if (end.kind === "slot-taken") {
          live.push({ addr: addr as number, size: o.size });
          assertEquals([end.index, end.hint], [out.index, core.hint]);
        }
        assertEquals([end.probes, end.boundarySkips], [out.probes, out.boundarySkips]);
      }
    }),
    { numRuns: 150 },
  );
});

const seg = (j: number, dmaAddr: number): XenDmaInfo => ({
  dmaAddr,
  physAddr: 0x1000000 + j * 0x40000,
  size: 0x40000,
  kind: "segment",
  index: j,
});

Deno.test("xen_dma_add_entry and erase record their tree steps with nodes as bus intervals", () => {
  const events = explaining();
  const t = newBusTree();
  xenDmaAddEntry(t, seg(0, 0x80000), events);
  xenDmaAddEntry(t, seg(1, 0x40000), events);
  events.drainExplained();
  // 0x80000 B (0x40000 R, -) + 0x60000: the inner grandchild (Case 2, then Case 3).
  const e = seg(2, 0x60000);
  xenDmaAddEntry(t, e, events);
  const n = (dmaAddr: number, color: "red" | "black") => ({ dmaAddr, size: 0x40000, color });
  assertEquals(events.drainExplained(), [
    {
      kind: "tree-op",
      op: "insert",
      dmaAddr: 0x60000,
      physAddr: 0x1080000,
      size: 0x40000,
      entry: "segment",
      segment: 2,
    },
    {
      kind: "tree-link",
      node: n(0x60000, "red"),
      parent: n(0x40000, "red"),
      side: "right",
      path: "root/l/r",
    },
    {
      kind: "insert-case",
      case: 2,
      mirror: false,
      node: n(0x60000, "red"),
      parent: n(0x40000, "red"),
      gparent: n(0x80000, "black"),
      uncle: null,
    },
    {
      kind: "insert-case",
      case: 3,
      mirror: false,
      node: n(0x40000, "red"),
      parent: n(0x60000, "red"),
      gparent: n(0x80000, "black"),
      uncle: null,
    },
  ]);
  // Now 0x60000 B (0x40000 R, 0x80000 R): erasing the root takes its right child.
  xenDmaRemoveEntry(t, e, events);
  assertEquals(events.drainExplained(), [
    {
      kind: "tree-op",
      op: "erase",
      dmaAddr: 0x60000,
      physAddr: 0x1080000,
      size: 0x40000,
      entry: "segment",
      segment: 2,
    },
    {
      kind: "erase-case",
      case: 2,
      mirror: false,
      node: n(0x60000, "black"),
      successor: n(0x80000, "red"),
      child: null,
      rebalance: null,
    },
  ]);
  assertEquals(t.onFixup, null, "the observer is detached after the operation");
});

Deno.test("explain off: nothing is recorded by the core, the tree or a whole guest", () => {
  const events = new EventLog();
  const core = new SwiotlbCore({ nslabs: 256, start: START, events });
  core.mapSingle({ tblDmaAddr: START, orig: 0x900000, size: 8192, dir: DMA_TO_DEVICE });
  const t = newBusTree();
  for (let j = 0; j < 8; j++) xenDmaAddEntry(t, seg(j, j * 0x40000), events);
  xenDmaRemoveEntry(t, t.first()!.entry, events);
  assertEquals(t.onFixup, null);
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 1024 }, events);
  g.addDevice({ name: "nic", maskBits: 32 });
  const buf = g.allocBuffer("rx", 8192);
  g.map("nic", buf.phys, 8192, DMA_TO_DEVICE);
  const c = g.allocCoherent("nic", 16384);
  g.freeCoherent("nic", c.bus, 16384);
  assertEquals(events.drainExplained(), []);
  // The same guest with explaining on records the fixup's inserts and the map's search.
  events.explaining = true;
  const on = Guest.create({ preset: "arm-dom0", swiotlb: 1024 }, events);
  const steps: ExplainStep[] = events.drainExplained();
  assertEquals(steps.filter((s) => s.kind === "tree-op").length, 1024 / 128);
  on.addDevice({ name: "nic", maskBits: 32 });
  on.map("nic", on.allocBuffer("rx", 8192).phys, 8192, DMA_TO_DEVICE);
  assertEquals(events.drainExplained().map((s) => s.kind), ["slot-start", "slot-taken"]);
});
