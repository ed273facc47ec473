/**
 * The core workloads the report runs on both the TypeScript core and the C reference
 * (bench/ref/swiotlb_ref.c): a FIFO of `live` mappings over a seeded sequence of sizes.
 * For each size: once `live` mappings are held, unmap the oldest (nothing when that map
 * failed), then map the size — one op is that unmap and map. The sizes are drawn here
 * and handed to C in a file, so both sides run exactly the same operations.
 *
 * - `bar`: 256 live mappings, sizes 1 B to 256 KiB mixed (a size class 2^e, e one of
 *   0, 9, 10, …, 18, then a size in (2^(e-1), 2^e]: about 18 slots a map on average),
 *   the bar the issue sets at 1.3× of C;
 * - `full-2048`, `full-4096`: the same sizes with 2,048 and 4,096 live mappings, more than
 *   a 64 MiB pool holds: it stays nearly full, next-fit probes about 1,000 and 2,700
 *   indices a map, and one map in 25 (one in 7) fails after a whole wrap.
 *
 * @module
 */

import type { Mask } from "../../lib/addr.ts";
import { DMA_TO_DEVICE } from "../../lib/direction.ts";
import { SwiotlbCore } from "../../lib/swiotlb/mod.ts";
import { seededBelow } from "../_rand.ts";
import { POOL_START } from "./core.ts";
import { MiB } from "./units.ts";

export { POOL_START };

/** The original buffer every map names (swiotlb_ref.c's ORIG; the pool at POOL_START). */
export const ORIG = POOL_START + 128 * MiB;
/** The 64 MiB default pool (SPEC §2). */
export const NSLABS = 32768;

/** One workload: a name, the FIFO depth and how sizes are drawn. */
export interface CoreWorkload {
  id: string;
  name: string;
  live: number;
  seed: number;
  /** Draws one size from the seeded source. */
  size: (below: (n: number) => number) => number;
}

/** Class 2^e with e in {0, 9…18}, then uniform in (2^(e-1), 2^e]. */
function barSize(below: (n: number) => number): number {
  const k = below(11);
  if (k === 0) return 1;
  const e = 8 + k;
  return 2 ** (e - 1) + 1 + below(2 ** (e - 1));
}

export const WORKLOADS: readonly CoreWorkload[] = [
  {
    id: "bar",
    name: "bar: FIFO of 256, 1 B–256 KiB",
    live: 256,
    seed: 14,
    size: barSize,
  },
  {
    id: "full-2048",
    name: "nearly full: FIFO of 2,048",
    live: 2048,
    seed: 2048,
    size: barSize,
  },
  {
    id: "full-4096",
    name: "nearly full: FIFO of 4,096",
    live: 4096,
    seed: 4096,
    size: barSize,
  },
];

/** The workload of that id (throws on an unknown one). */
export function workload(id: string): CoreWorkload {
  const w = WORKLOADS.find((x) => x.id === id);
  if (!w) throw new Error(`unknown core workload ${id}`);
  return w;
}

/** The first `ops` sizes of a workload's seeded sequence. */
export function workloadSizes(w: CoreWorkload, ops: number): Int32Array {
  const below = seededBelow(w.seed);
  const out = new Int32Array(ops);
  for (let i = 0; i < ops; i++) out[i] = w.size(below);
  return out;
}

/** What one round of the FIFO did. */
export interface FifoResult {
  failed: number;
  /** Slot indexes examined by all maps (MapOutcome.probes). */
  probes: number;
}

/**
 * One round of the FIFO on `core` (fresh or not: the caller decides). `slots`, when
 * given, receives each map's slot index (-1 for a failure), for the C cross-check.
 */
export function runFifo(
  core: SwiotlbCore,
  sizes: Int32Array,
  live: number,
  slots?: Int32Array,
  segBoundary: Mask = 0xffffffff,
  tblDmaAddr = POOL_START,
): FifoResult {
  const addr = new Float64Array(live);
  const size = new Int32Array(live);
  const start = core.start;
  let head = 0, count = 0, failed = 0, probes = 0;
  for (let i = 0; i < sizes.length; i++) {
    if (count === live) {
      if (addr[head] >= 0) core.unmapSingle(addr[head], size[head], DMA_TO_DEVICE);
      count--;
    }
    const a = core.mapSingle({
      tblDmaAddr,
      orig: ORIG,
      size: sizes[i],
      dir: DMA_TO_DEVICE,
      segBoundary,
    });
    probes += core.lastMap.probes;
    let at = -1;
    if (typeof a === "number") at = a;
    else failed++;
    if (slots) slots[i] = at < 0 ? -1 : (at - start) / 2048;
    addr[head] = at;
    size[head] = sizes[i];
    head = head + 1 === live ? 0 : head + 1;
    count++;
  }
  return { failed, probes };
}

/**
 * Child `core-workload`: ns per op of `rounds` rounds, each on a fresh pool, after two
 * untimed ones (the C program needs one, for its caches; the JIT needs a second before
 * every path is at its optimised tier).
 */
export function childCoreWorkload(
  a: { id: string; rounds: number; file?: string; ops?: number },
): { nsPerOp: number[]; failed: number; probesPerMap: number } {
  const w = workload(a.id);
  const sizes = a.file
    ? ((b) => new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2))(Deno.readFileSync(a.file))
    : workloadSizes(w, a.ops ?? 100_000);
  runFifo(new SwiotlbCore({ nslabs: NSLABS, start: POOL_START }), sizes, w.live);
  let r = runFifo(new SwiotlbCore({ nslabs: NSLABS, start: POOL_START }), sizes, w.live);
  const nsPerOp: number[] = [];
  for (let k = 0; k < a.rounds; k++) {
    const core = new SwiotlbCore({ nslabs: NSLABS, start: POOL_START });
    const t0 = performance.now();
    r = runFifo(core, sizes, w.live);
    nsPerOp.push((performance.now() - t0) * 1e6 / sizes.length);
  }
  return { nsPerOp, failed: r.failed, probesPerMap: r.probes / sizes.length };
}
