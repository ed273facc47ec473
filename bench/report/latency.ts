/**
 * Child `latency`: DMA map/unmap latency through the Guest API, per mode, size and
 * direction, as the kernel's `dma_map_benchmark` reports it (average and standard
 * deviation per call, in µs).
 *
 * @module
 */

import {
  type Direction,
  DMA_BIDIRECTIONAL,
  DMA_FROM_DEVICE,
  DMA_TO_DEVICE,
} from "../../lib/direction.ts";
import { Guest } from "../../lib/guest/guest.ts";
import type { LatencyRow } from "./schema.ts";
import { timerOverheadMs } from "./stats.ts";
import { KiB, MiB, SEG, sizeLabel, SLOT } from "./units.ts";

/** The modes of the latency table (the brief's four). */
export const MODES = [
  { mode: "pv-dom0 bounce", preset: "pv-dom0", bits: 32, contiguous: false },
  { mode: "pv-dom0 fast", preset: "pv-dom0", bits: 64, contiguous: true },
  { mode: "arm-dom0", preset: "arm-dom0", bits: 64, contiguous: false },
  { mode: "arm-dom0-smmu direct", preset: "arm-dom0-smmu", bits: 64, contiguous: false },
] as const;
/** One page, a mid-size buffer and a whole segment; the core throughput reuses them. */
export const LAT_SIZES = [4 * KiB, 64 * KiB, 256 * KiB];
const DIRS: { name: LatencyRow["dir"]; dir: Direction }[] = [
  { name: "to", dir: DMA_TO_DEVICE },
  { name: "from", dir: DMA_FROM_DEVICE },
  { name: "bidi", dir: DMA_BIDIRECTIONAL },
];

interface LatencyArgs {
  mode: number;
  iterations: number;
  /** Untimed pairs before each row. */
  warmup: number;
  /** Untimed 4 KiB pairs per direction before the first row. */
  jitWarmup: number;
}

/**
 * A guest of `preset` with device "bench" (`bits`-bit mask) and a 256 KiB buffer —
 * machine-contiguous with `contiguous` (the PV fast path) — its pool and buffer touched.
 */
export function benchGuest(
  preset: string,
  bits: number,
  contiguous: boolean,
  debug: boolean,
): { g: Guest; phys: number } {
  const g = Guest.create({ preset, debug });
  if (!g.init.ok) throw new Error(`${preset}: swiotlb-xen init failed`);
  g.addDevice({ name: "bench", maskBits: bits });
  let phys: number;
  if (contiguous) {
    // The fast path needs a machine-contiguous buffer: on the fragmented layout, find a
    // run of at least 64 frames (256 KiB) in a large arena.
    const arena = g.allocBuffer("arena", 32 * MiB, 4096);
    const run = g.p2m(arena.phys / 4096, (32 * MiB) / 4096).runs.find((r) => r.count >= SEG / 4096);
    phys = run ? run.pfn * 4096 : arena.phys;
  } else {
    phys = g.allocBuffer("buf", SEG, 4096).phys;
  }
  // The model gives a machine frame its bytes on first write: touch the pool and the
  // buffer once, so the table shows steady-state maps, not first-touch allocations.
  if (g.init.nslabs > 0) g.writePhys(g.init.poolPhys, new Uint8Array(g.init.nslabs * SLOT));
  g.writePhys(phys, new Uint8Array(SEG).fill(0xa5));
  return { g, phys };
}

/** Every size × direction row of one mode (`a.mode` indexes MODES). */
export function childLatency(a: LatencyArgs): { timerOverheadUs: number; rows: LatencyRow[] } {
  const m = MODES[a.mode];
  const { g, phys } = benchGuest(m.preset, m.bits, m.contiguous, false);
  const direct = g.ops?.kind === "direct";
  // Bring the whole call chain to its optimised tier first (a few hundred calls per row
  // would leave the first rows measuring the interpreter).
  for (const d of DIRS) {
    for (let i = 0; i < a.jitWarmup; i++) {
      const r = g.map("bench", phys, 4 * KiB, d.dir);
      g.unmap("bench", r.bus, 4 * KiB, d.dir);
    }
  }
  const ovh = timerOverheadMs();
  const rows: LatencyRow[] = [];
  for (const size of LAT_SIZES) {
    for (const d of DIRS) {
      let mapSum = 0, mapSq = 0, unSum = 0, unSq = 0, bounced = 0;
      const total = a.warmup + a.iterations;
      for (let i = 0; i < total; i++) {
        const t0 = performance.now();
        const r = g.map("bench", phys, size, d.dir);
        const t1 = performance.now();
        g.unmap("bench", r.bus, size, d.dir);
        const t2 = performance.now();
        if (r.error) throw new Error(`${m.mode} ${sizeLabel(size)} ${d.name}: ${r.failure?.code}`);
        if (i < a.warmup) continue;
        const mt = t1 - t0, ut = t2 - t1;
        mapSum += mt;
        mapSq += mt * mt;
        unSum += ut;
        unSq += ut * ut;
        if (r.bounced) bounced++;
      }
      const n = a.iterations;
      const sd = (sum: number, sq: number) => Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2));
      rows.push({
        mode: m.mode,
        preset: m.preset,
        deviceBits: m.bits,
        size,
        dir: d.name,
        path: bounced === n
          ? "bounce"
          : bounced === 0
          ? (direct ? "direct" : "fast path")
          : "mixed",
        bounced: bounced / n,
        iterations: n,
        mapAvgUs: (mapSum / n - ovh) * 1000,
        mapStdUs: sd(mapSum, mapSq) * 1000,
        unmapAvgUs: (unSum / n - ovh) * 1000,
        unmapStdUs: sd(unSum, unSq) * 1000,
      });
    }
  }
  return { timerOverheadUs: ovh * 1000, rows };
}
