/**
 * SwiotlbCore.slotInUse (the debug layer's cheap question on every bounced map) agrees
 * with io_tlb_list[i] === 0 after random maps and unmaps, bitmap-backed or eager.
 */

import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { DMA_TO_DEVICE, SwiotlbCore } from "../mod.ts";

Deno.test("SwiotlbCore.slotInUse matches freeRun[i] === 0 at every slot, before and after reads", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 70_000 }), fc.boolean()), { maxLength: 60 }),
      fc.boolean(),
      (ops, eager) => {
        const core = new SwiotlbCore({
          nslabs: 1024,
          start: 0x100000,
          counters: eager ? "eager" : undefined,
        });
        const live: { addr: number; size: number }[] = [];
        for (const [size, unmap] of ops) {
          if (unmap && live.length > 0) {
            const m = live.shift()!;
            core.unmapSingle(m.addr, m.size, DMA_TO_DEVICE);
          } else {
            const addr = core.mapSingle({
              tblDmaAddr: 0x100000,
              orig: 0x4000000,
              size,
              dir: DMA_TO_DEVICE,
              segBoundary: 0xffffffff,
            });
            if (typeof addr === "number") live.push({ addr, size });
          }
          // Ask before the counters are read (stale segments), then compare with them.
          const asked = Array.from({ length: core.nslabs }, (_, i) => core.slotInUse(i));
          const list = Array.from(core.freeRun, (c) => c === 0);
          assertEquals(asked, list);
        }
      },
    ),
    { numRuns: 60 },
  );
});
