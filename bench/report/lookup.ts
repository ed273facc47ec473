/**
 * Children `lookup-guest` and `lookup-synthetic`: bus→phys lookup (SPEC §6,
 * `xen_get_dma_info_from_dma`) against pool size, on a real guest's tree and on a
 * synthetic tree of the same number of segments.
 *
 * @module
 */

import { Guest } from "../../lib/guest/guest.ts";
import type { RbNode } from "../../lib/rbtree.ts";
import { BusTree, findInterval, type XenDmaInfo } from "../../lib/swiotlb_xen/tree.ts";
import { seededBelow } from "../_rand.ts";
import type { LookupRow } from "./schema.ts";
import { rate, rateAndCpu } from "./stats.ts";
import { GiB, SEG, SLOT } from "./units.ts";

function treeHeight<E>(n: RbNode<E> | null): number {
  return n === null ? 0 : 1 + Math.max(treeHeight(n.left), treeHeight(n.right));
}

/** Lookups of `xs` (length a power of two) in `tree` by the node walk; returns the hits. */
function treeLookups(tree: BusTree, xs: Float64Array, n: number): number {
  const mask = xs.length - 1;
  let hits = 0;
  for (let i = 0; i < n; i++) if (findInterval(tree, xs[i & mask]) !== null) hits++;
  return hits;
}

/** The same lookups through the tree's typed-array mirror (xen_get_dma_info_from_dma). */
function indexLookups(tree: BusTree, xs: Float64Array, n: number): number {
  const mask = xs.length - 1;
  const index = tree.index;
  let hits = 0;
  for (let i = 0; i < n; i++) if (index.find(xs[i & mask]) !== null) hits++;
  return hits;
}

/**
 * The mirror's lookups: median and best on the wall clock, and per thread-CPU-second —
 * rounds of at least 60 ms, so that the CPU clock's ticks (about 10 ms) stay small
 * against their sum.
 */
function indexRates(tree: BusTree, xs: Float64Array, a: LookupArgs) {
  indexLookups(tree, xs, 200_000); // the mirror is built after enough lookups; warm it
  const t0 = performance.now();
  indexLookups(tree, xs, 200_000);
  const perMs = 200_000 / Math.max(performance.now() - t0, 1e-3);
  const n = Math.max(a.lookups, Math.round(perMs * 60));
  const r = rateAndCpu((k) => indexLookups(tree, xs, k), n, a.rounds);
  return { indexPerSec: r.median, indexBestPerSec: r.best, indexPerCpuSec: r.perCpuSec };
}

/**
 * Random addresses inside random segments: 4096 (a cache-resident array, as a driver's
 * address is in a register), or 4 per segment for big pools so every path gets walked.
 */
function addressesIn(segs: { dmaAddr: number; size: number }[], seed: number): Float64Array {
  const rand = seededBelow(seed);
  let len = 4096;
  while (len < 4 * segs.length) len *= 2;
  const xs = new Float64Array(len);
  for (let i = 0; i < xs.length; i++) {
    const s = segs[rand(segs.length)];
    xs[i] = s.dmaAddr + rand(s.size);
  }
  return xs;
}

/** The largest swiotlb-xen pool init builds without lowering (its exchanges need < 4 GiB). */
export const GUEST_LOOKUP_MAX = 2 * GiB;

interface LookupArgs {
  poolBytes: number;
  lookups: number;
  rounds: number;
}

/** Lookups on a real arm-dom0 guest's tree (null when init lowers such a pool). */
export function childLookupGuest(a: LookupArgs): LookupRow["guest"] {
  const g = Guest.create({
    preset: "arm-dom0",
    swiotlb: a.poolBytes / SLOT,
    mem: Math.max(2 * GiB, 2 * a.poolBytes),
    machine: Math.max(8 * GiB, 4 * a.poolBytes),
    debug: false,
  });
  const x = g.swiotlbXen;
  if (x === undefined || g.init.nslabs !== a.poolBytes / SLOT) return null;
  const xs = addressesIn(g.segments().rows, 0x5eed);
  const bus = (n: number) => {
    const mask = xs.length - 1;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x.busToPhys(xs[i & mask]) as number;
    return sum;
  };
  const find = rate((n) => treeLookups(x.tree, xs, n), a.lookups, a.rounds);
  return {
    findIntervalPerSec: find.median,
    findIntervalBestPerSec: find.best,
    busToPhysPerSec: rate(bus, a.lookups, a.rounds).median,
    ...indexRates(x.tree, xs, a),
    treeHeight: treeHeight(x.tree.root),
  };
}

/** Lookups on an RbTree of the pool's number of segments. */
export function childLookupSynthetic(a: LookupArgs): LookupRow["synthetic"] {
  const segments = a.poolBytes / SEG;
  // Synthetic: bus slots drawn without replacement from twice the pool's span and
  // inserted in pool (phys) order, as Xen's exchanges hand out scattered extents.
  const rand = seededBelow(0xb05 + segments);
  const slots = Array.from({ length: 2 * segments }, (_, i) => i);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  const tree = new BusTree();
  const entries: XenDmaInfo[] = [];
  for (let j = 0; j < segments; j++) {
    const e: XenDmaInfo = {
      dmaAddr: slots[j] * SEG,
      physAddr: 0x8000_0000 + j * SEG,
      size: SEG,
      kind: "segment",
      index: j,
    };
    entries.push(e);
    tree.insert(e);
  }
  const xs = addressesIn(entries, 0x5eed + 1);
  const find = rate((n) => treeLookups(tree, xs, n), a.lookups, a.rounds);
  return {
    findIntervalPerSec: find.median,
    findIntervalBestPerSec: find.best,
    ...indexRates(tree, xs, a),
    treeHeight: treeHeight(tree.root),
  };
}
