/**
 * The C reference (bench/ref/swiotlb_ref.c) against the TypeScript core: for the report's
 * workloads and for devices with a binding segment boundary (masks of 64 KiB, 128 KiB,
 * 16 KiB and 4 KiB, a table bus address off the boundary, the 64-bit all-ones mask), the
 * C program's chosen slot of every map and its final hint must equal the core's, so the
 * report's TS/C ratio compares the same algorithm doing the same work. Needs a C
 * compiler; without one the test is skipped and says why.
 */

import { assertEquals } from "@std/assert";
import { buildRef } from "../bench/report/core_ref.ts";
import { NSLABS, POOL_START, runFifo, WORKLOADS, workloadSizes } from "../bench/report/workload.ts";
import { SwiotlbCore } from "../lib/swiotlb/mod.ts";
import { ALL_ONES, type Mask } from "../lib/addr.ts";

const dir = await Deno.makeTempDir({ prefix: "core_ref_test_" });
const built = await buildRef(dir);
if ("skipped" in built) {
  console.log(`core_ref_test: skipped, the C reference cannot be built: ${built.skipped}`);
  await Deno.remove(dir, { recursive: true });
}

const decoder = new TextDecoder();

/** The C program's slots and hint for `sizes` with that device. */
async function cSlots(
  bin: string,
  sizes: Int32Array,
  live: number,
  mask: Mask,
  tbl: number,
): Promise<{ slots: number[]; hint: number }> {
  const file = `${dir}/sizes-${live}-${mask}-${tbl}`;
  await Deno.writeFile(file, new Uint8Array(sizes.buffer));
  const out = await new Deno.Command(bin, {
    args: ["slots", file, String(NSLABS), String(live), String(mask), String(tbl)],
    stdout: "piped",
  }).output();
  assertEquals(out.success, true);
  const lines = decoder.decode(out.stdout).trim().split("\n");
  const last = lines.pop()!;
  return { slots: lines.map(Number), hint: Number(last.replace("hint ", "")) };
}

Deno.test({
  name: "C reference: the same slot for every map, and the same hint, as SwiotlbCore",
  ignore: "skipped" in built,
  sanitizeResources: false,
  async fn(t) {
    if (!("bin" in built)) return;
    const devices: { mask: Mask; tbl: number }[] = [
      { mask: 0xffffffff, tbl: POOL_START },
      { mask: 0xffff, tbl: POOL_START },
      { mask: 0x1ffff, tbl: POOL_START + 0x5800 },
      { mask: 0x3fff, tbl: POOL_START + 0x800 },
      { mask: 0xfff, tbl: POOL_START },
      { mask: ALL_ONES, tbl: POOL_START + 0x12345800 },
    ];
    try {
      for (const w of WORKLOADS) {
        for (const d of devices) {
          await t.step(
            `${w.id}, mask ${d.mask.toString(16)}, tbl ${d.tbl.toString(16)}`,
            async () => {
              const sizes = workloadSizes(w, w.live * 6);
              const core = new SwiotlbCore({ nslabs: NSLABS, start: POOL_START });
              const slots = new Int32Array(sizes.length);
              const r = runFifo(core, sizes, w.live, slots, d.mask, d.tbl);
              const c = await cSlots(built.bin, sizes, w.live, d.mask, d.tbl);
              assertEquals(c.slots.length, sizes.length);
              const first = c.slots.findIndex((s, i) => s !== slots[i]);
              assertEquals(first, -1, `map ${first}: C slot ${c.slots[first]}, TS ${slots[first]}`);
              assertEquals(c.hint, core.hint);
              // The workload must exercise what it claims: maps that succeed, and for the
              // nearly full pools maps that fail after a whole wrap.
              assertEquals(c.slots.some((s) => s >= 0), true);
              if (w.id !== "bar" && d.mask === 0xffffffff) assertEquals(r.failed > 0, true);
            },
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
