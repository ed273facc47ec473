/**
 * Benchmarks of the swiotlb core (SPEC §3): map+unmap pairs at 1 page, 16 KiB and
 * 256 KiB without and with a byte copy, and pool initialisation from 64 MiB to 16 GiB.
 * Targets live in the bench report, never in tests.
 */

import { DMA_BIDIRECTIONAL, DMA_TO_DEVICE } from "../lib/direction.ts";
import type { PhysMemory } from "../lib/memory.ts";
import { SwiotlbCore } from "../lib/swiotlb/mod.ts";

const START = 0x1000_0000;
const MiB = 1024 * 1024;

/** A flat byte store standing in for guest memory, so copies cost what memcpy costs. */
function flatMemory(bytes: number, base: number): PhysMemory {
  const mem = new Uint8Array(bytes);
  return {
    read: (a, n) => mem.slice(a - base, a - base + n),
    write: (a, b) => mem.set(b, a - base),
    copy: (d, s, n) => mem.copyWithin(d - base, s - base, s - base + n),
  };
}

for (const size of [4096, 16384, 262144]) {
  const core = new SwiotlbCore({ nslabs: 32768, start: START });
  const orig = START + 128 * MiB;
  Deno.bench(
    `map+unmap ${size / 1024} KiB, no copy`,
    { group: `map-${size}`, baseline: true },
    () => {
      const a = core.mapSingle({ tblDmaAddr: START, orig, size, dir: DMA_TO_DEVICE });
      core.unmapSingle(a, size, DMA_TO_DEVICE);
    },
  );
  const withMem = new SwiotlbCore({
    nslabs: 32768,
    start: START,
    memory: flatMemory(64 * MiB + 2 * MiB, START),
  });
  const orig2 = START + 64 * MiB;
  Deno.bench(`map+unmap ${size / 1024} KiB, copy both ways`, { group: `map-${size}` }, () => {
    const a = withMem.mapSingle({ tblDmaAddr: START, orig: orig2, size, dir: DMA_BIDIRECTIONAL });
    withMem.unmapSingle(a, size, DMA_BIDIRECTIONAL);
  });
}

for (const bytes of [64 * MiB, 1024 * MiB, 16384 * MiB]) {
  Deno.bench(`pool init ${bytes / MiB} MiB (${bytes / 2048} slots)`, { group: "init" }, () => {
    new SwiotlbCore({ nslabs: bytes / 2048, start: START });
  });
}
