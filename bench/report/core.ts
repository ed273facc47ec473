/**
 * Child `core`: map+unmap throughput of the bare swiotlb core (SPEC §3), with no memory
 * behind it, so no copy: the allocator's own cost.
 *
 * @module
 */

import { DMA_TO_DEVICE } from "../../lib/direction.ts";
import { SwiotlbCore } from "../../lib/swiotlb/mod.ts";
import { LAT_SIZES } from "./latency.ts";
import type { CoreRow } from "./schema.ts";
import { rate } from "./stats.ts";
import { MiB } from "./units.ts";

/** Where the bare core's pool starts, and the original buffer it "bounces" from. */
export const POOL_START = 0x1000_0000;
const ORIG = POOL_START + 128 * MiB;

/** map+unmap pairs on a bare core: the caller's arguments object is built per call. */
function corePairs(core: SwiotlbCore, size: number, n: number): number {
  let last = 0;
  for (let i = 0; i < n; i++) {
    const a = core.mapSingle({ tblDmaAddr: POOL_START, orig: ORIG, size, dir: DMA_TO_DEVICE });
    core.unmapSingle(a, size, DMA_TO_DEVICE);
    last = typeof a === "number" ? a : -1;
  }
  return last;
}

/** Pairs per second at each latency size, each on a fresh 64 MiB pool. */
export function childCore(a: { pairs: number; rounds: number }): { rows: CoreRow[] } {
  return {
    rows: LAT_SIZES.map((size) => {
      const core = new SwiotlbCore({ nslabs: 32768, start: POOL_START });
      const r = rate((n) => corePairs(core, size, n), a.pairs, a.rounds);
      return { size, pairsPerSec: r.median, bestPairsPerSec: r.best };
    }),
  };
}
