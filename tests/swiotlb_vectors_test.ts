/**
 * Replays every workload recorded from Linux 3.11's own allocator
 * (tests/fixtures/swiotlb-alloc.json, see /work/shared/vectors/README.md): the chosen
 * slot of every map, and the counters and hint at the end, must equal the kernel's.
 */

import { assertEquals } from "@std/assert";
import { MAP_ERROR, type Policy, SwiotlbCore } from "../lib/swiotlb/mod.ts";
import { DMA_TO_DEVICE } from "../lib/direction.ts";
import { EventLog } from "../lib/events.ts";

interface MapOp {
  op: "map";
  size: number;
  orig: number;
  expect_slot: number;
}

interface UnmapOp {
  op: "unmap";
  of: number;
  size: number;
}

interface VectorCase {
  name: string;
  nslabs: number;
  io_tlb_start: number;
  seg_boundary_mask: number;
  tbl_dma_addr: number;
  ops: (MapOp | UnmapOp)[];
  final_list: number[];
  final_index: number;
}

const SLOT = 2048;

const cases: VectorCase[] = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/swiotlb-alloc.json", import.meta.url)),
);

/** Replays one case; returns the core so the caller can check its final state. */
function replay(c: VectorCase, policy: Policy, events: EventLog): SwiotlbCore {
  const core = new SwiotlbCore({ nslabs: c.nslabs, start: c.io_tlb_start, policy, events });
  const mapped = new Map<number, number>(); // op index → bounce address
  c.ops.forEach((op, i) => {
    if (op.op === "map") {
      const addr = core.mapSingle({
        tblDmaAddr: c.tbl_dma_addr,
        orig: op.orig,
        size: op.size,
        dir: DMA_TO_DEVICE,
        segBoundary: c.seg_boundary_mask,
      });
      const slot = addr === MAP_ERROR ? -1 : (addr - c.io_tlb_start) / SLOT;
      if (slot !== op.expect_slot) {
        assertEquals(
          slot,
          op.expect_slot,
          `${c.name} (${policy}): op ${i} map size ${op.size}: chosen slot`,
        );
      }
      if (addr !== MAP_ERROR) mapped.set(i, addr);
    } else {
      const addr = mapped.get(op.of);
      if (addr === undefined) {
        throw new Error(`${c.name}: op ${i} unmaps op ${op.of}, which mapped nothing`);
      }
      core.unmapSingle(addr, op.size, DMA_TO_DEVICE);
      mapped.delete(op.of);
    }
  });
  return core;
}

Deno.test("the fixture holds the 19 recorded workloads", () => {
  assertEquals(cases.length, 19);
  assertEquals(cases.reduce((n, c) => n + c.ops.length, 0), 6009);
});

Deno.test("swiotlb allocator reproduces Linux 3.11 vectors", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const events = new EventLog();
      const core = replay(c, "checked", events);
      assertEquals(Array.from(core.freeRun), c.final_list, `${c.name}: final io_tlb_list`);
      assertEquals(core.hint, c.final_index, `${c.name}: final io_tlb_index`);
      assertEquals(events.counts.ub, 0);

      // The workloads are valid, so the faithful policy must behave identically and
      // report no undefined behaviour.
      const fEvents = new EventLog();
      const faithful = replay(c, "faithful", fEvents);
      assertEquals(Array.from(faithful.freeRun), c.final_list, `${c.name}: faithful list`);
      assertEquals(faithful.hint, c.final_index, `${c.name}: faithful index`);
      assertEquals(fEvents.counts.ub, 0, `${c.name}: faithful ub events`);
      assertEquals(faithful.stats.ubEvents, 0);
    });
  }
});
