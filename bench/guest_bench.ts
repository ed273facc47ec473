/**
 * Benchmarks of the whole guest (SPEC §7): one 4 KiB map+unmap pair through the Guest
 * API per mode, with the DMA-API debug layer off, and a bus→phys lookup on arm-dom0's
 * real 64 MiB pool tree. `deno task bench:report` has the full table (sizes, directions,
 * latency spread); this keeps the same paths under `deno bench`.
 *
 * @module
 */

import { DMA_FROM_DEVICE, DMA_TO_DEVICE } from "../lib/direction.ts";
import { Guest } from "../lib/guest/guest.ts";
import { findInterval } from "../lib/swiotlb_xen/tree.ts";

const SIZE = 4096;

for (
  const [name, preset, maskBits] of [
    ["pv-dom0, 32-bit device (bounce)", "pv-dom0", 32],
    ["pv-dom0, 64-bit device (fast path)", "pv-dom0", 64],
    ["arm-dom0 (bounce)", "arm-dom0", 64],
    ["arm-dom0-smmu (direct)", "arm-dom0-smmu", 64],
  ] as const
) {
  const g = Guest.create({ preset, debug: false });
  g.addDevice({ name: "d", maskBits });
  const buf = g.allocBuffer("b", SIZE, SIZE);
  // Touch the pool once: the model gives a frame its bytes on first write.
  g.writePhys(g.init.poolPhys, new Uint8Array(g.init.nslabs * 2048));
  for (const [dirName, dir] of [["to", DMA_TO_DEVICE], ["from", DMA_FROM_DEVICE]] as const) {
    Deno.bench(`g.map+g.unmap 4 KiB ${dirName}: ${name}`, { group: `guest ${dirName}` }, () => {
      const r = g.map("d", buf.phys, SIZE, dir);
      g.unmap("d", r.bus, SIZE, dir);
    });
  }
}

{
  const g = Guest.create({ preset: "arm-dom0", debug: false });
  const x = g.swiotlbXen!;
  const segs = g.segments().rows;
  // mulberry32: the addresses must look random to the branch predictor too (an LCG's
  // low bits repeat with a short period, which it learns).
  let a = 0x5eed;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const xs = new Float64Array(4096);
  for (let i = 0; i < xs.length; i++) {
    const s = segs[Math.floor(rand() * segs.length)];
    xs[i] = s.dmaAddr + Math.floor(rand() * s.size);
  }
  let q = 0;
  let sink = 0;
  Deno.bench("findInterval x1000 on arm-dom0's 64 MiB pool tree", { group: "lookup" }, () => {
    let hits = 0;
    let i = q;
    for (let k = 0; k < 1000; k++) {
      if (findInterval(x.tree, xs[i]) !== null) hits++;
      i = (i + 1) & 4095;
    }
    q = i;
    sink += hits;
  });
  Deno.bench("XenSwiotlb.busToPhys x1000 (64 MiB pool)", { group: "lookup" }, () => {
    let sum = 0;
    let i = q;
    for (let k = 0; k < 1000; k++) {
      sum += x.busToPhys(xs[i]) as number;
      i = (i + 1) & 4095;
    }
    q = i;
    sink += sum;
  });
  globalThis.addEventListener("unload", () => {
    if (sink < 0) console.log(sink);
  });
}
