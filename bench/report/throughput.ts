/**
 * Child `throughput`: DMA map+unmap pairs per second through the Guest API (issue 14's
 * bounce and fast-path targets), one mode per child process: arm-dom0's bounce (every
 * map copies into a slot and every unmap back, BIDIRECTIONAL), and pv-dom0's fast path
 * (no bounce) with the DMA-API debug layer off, and on — there a driver's
 * dma_mapping_error on each handle, as a correct driver checks it. Rates over timed
 * rounds of about 50 ms each, after 200 ms of warm-up per size: the median and best on
 * the wall clock, and pairs per second of the thread's own CPU time over all rounds —
 * what the targets are judged on, since other sessions share this machine's two cores
 * (time they take is not counted, nor V8's helper threads'; on an idle machine it reads
 * as the wall rate).
 *
 * @module
 */

import { DMA_BIDIRECTIONAL } from "../../lib/direction.ts";
import type { ThroughputRow } from "./schema.ts";
import { benchGuest, LAT_SIZES } from "./latency.ts";
import { median, threadCpuMs } from "./stats.ts";

/** The modes of the throughput table. */
export const THROUGHPUT_MODES = [
  { mode: "arm-dom0 bounce", preset: "arm-dom0", contiguous: false, debug: false },
  { mode: "pv-dom0 fast path", preset: "pv-dom0", contiguous: true, debug: false },
  { mode: "pv-dom0 fast path, debug on", preset: "pv-dom0", contiguous: true, debug: true },
] as const;

/** Every size of one mode (`a.mode` indexes THROUGHPUT_MODES). */
export function childThroughput(a: { mode: number; rounds: number }): { rows: ThroughputRow[] } {
  const m = THROUGHPUT_MODES[a.mode];
  const { g, phys } = benchGuest(m.preset, 64, m.contiguous, m.debug);
  const pairs = (size: number, n: number): number => {
    let bounced = 0;
    for (let i = 0; i < n; i++) {
      const r = g.map("bench", phys, size, DMA_BIDIRECTIONAL);
      if (m.debug) g.mappingError("bench", r.bus);
      g.unmap("bench", r.bus, size, DMA_BIDIRECTIONAL);
      if (r.bounced) bounced++;
    }
    return bounced;
  };
  // Bring the whole call chain to its optimised tier on every size before timing any
  // (a first row timed from cold would measure the interpreter), and calibrate: the
  // pairs of about 50 ms at each size, from the last 100 ms of warm-up.
  const perRound = LAT_SIZES.map((size) => {
    let n = 0;
    let t = performance.now();
    const end = t + 200;
    let tail = 0;
    while (performance.now() < end) {
      pairs(size, 500);
      n += 500;
      if (tail === 0 && performance.now() > end - 100) {
        tail = n;
        t = performance.now();
      }
    }
    const ms = (performance.now() - t) / Math.max(1, n - tail);
    return Math.max(2000, Math.round(50 / Math.max(ms, 1e-6)));
  });
  // Rounds go round the sizes, so a burst of other work on this shared machine falls on
  // all of them alike; each round is timed on the wall clock, and the thread's CPU time
  // is summed per size (its clock ticks are too coarse for one round).
  const wall: number[][] = LAT_SIZES.map(() => []);
  const cpuMs = LAT_SIZES.map(() => 0);
  for (let r = 0; r < a.rounds; r++) {
    LAT_SIZES.forEach((size, k) => {
      const n = perRound[k];
      const c0 = threadCpuMs();
      const t0 = performance.now();
      pairs(size, n);
      const ms = performance.now() - t0;
      cpuMs[k] += threadCpuMs() - c0;
      wall[k].push(n / ms * 1000);
    });
  }
  if (m.debug && g.debugReport().reports.length > 0) {
    throw new Error(`${m.mode}: the debug layer reported: ${g.debugReport().reports[0].message}`);
  }
  return {
    rows: LAT_SIZES.map((size, k) => {
      const bounced = pairs(size, 100);
      return {
        mode: m.mode,
        preset: m.preset,
        debug: m.debug,
        size,
        path: bounced === 100 ? "bounce" : bounced === 0 ? "fast path" : "mixed",
        pairsPerSec: median(wall[k]),
        bestPairsPerSec: Math.max(...wall[k]),
        pairsPerCpuSec: perRound[k] * a.rounds / cpuMs[k] * 1000,
        pairsPerRound: perRound[k],
      };
    }),
  };
}
