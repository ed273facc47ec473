/**
 * Benchmarks for lib/rbtree.ts on swiotlb-xen-like trees: one node per 256 KiB segment,
 * bus addresses in a shuffled order (as Xen hands them out), at 256 nodes (a 64 MiB
 * default pool) and 32768 nodes (an 8 GiB one).
 *
 * `findInterval` runs in batches of {@link BATCH} lookups per iteration so that the timer
 * resolution does not dominate: lookups/s = BATCH / (time per iteration).
 *
 *   deno bench bench/rbtree_bench.ts
 */

import { RbTree } from "../lib/rbtree.ts";
import { findInterval, type Interval, type IntervalStep } from "../lib/swiotlb_xen/tree.ts";
import { seededBelow } from "./_rand.ts";

const SEG = 256 * 1024;
const BATCH = 1000;
/** Spare entries cycled through by insert+erase (a power of two, at most 256). */
const SPARE = 256;
const BUS_BASE = 2 ** 32;

interface Setup {
  tree: RbTree<Interval>;
  /** The tree's entries in insertion (phys) order. */
  entries: Interval[];
  /** Entries not in the tree (bus addresses in the gaps), for insert+erase. */
  spare: Interval[];
  /** Bus addresses that all hit some segment. */
  xs: Float64Array;
}

function setup(n: number): Setup {
  const rand = seededBelow(0x5eed + n);
  // Bus slots 0..2n-1, shuffled; the first n are the pool's segments, the rest spare.
  const slots = Array.from({ length: 2 * n }, (_, i) => i);
  for (let i = slots.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  const tree = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
  const used = slots.slice(0, n);
  const entries = used.map((slot, j) => ({
    dmaAddr: BUS_BASE + slot * SEG,
    physAddr: 0x4000_0000 + j * SEG,
    size: SEG,
  }));
  for (const e of entries) tree.insert(e);
  const spare = slots.slice(n, n + SPARE).map((s, k) => ({
    dmaAddr: BUS_BASE + s * SEG,
    physAddr: 0x1_0000_0000 + k * SEG,
    size: SEG,
  }));
  const xs = new Float64Array(4096);
  for (let i = 0; i < xs.length; i++) {
    const s = used[rand(n)];
    xs[i] = BUS_BASE + s * SEG + rand(SEG);
  }
  return { tree, entries, spare, xs };
}

let sink = 0;

for (const n of [256, 32768]) {
  // Separate trees: insert+erase reshapes its tree, and the lookups should see the tree
  // exactly as the fixup built it.
  const s = setup(n);
  const look = setup(n);
  let k = 0;
  let q = 0;

  Deno.bench({
    name: `insert+erase one node, n=${n}`,
    group: `insert+erase n=${n}`,
    baseline: true,
    fn() {
      const e = s.spare[k];
      k = (k + 1) & (SPARE - 1);
      s.tree.erase(s.tree.insert(e));
    },
  });

  Deno.bench({
    name: `findInterval x${BATCH}, n=${n}`,
    group: `findInterval n=${n}`,
    baseline: true,
    fn() {
      const { tree, xs } = look;
      let hits = 0;
      for (let i = 0; i < BATCH; i++) {
        if (findInterval(tree, xs[q]) !== null) hits++;
        q = (q + 1) & 4095;
      }
      sink += hits;
    },
  });

  Deno.bench({
    name: `findInterval with steps x${BATCH}, n=${n}`,
    group: `findInterval n=${n}`,
    fn() {
      const { tree, xs } = look;
      let visited = 0;
      for (let i = 0; i < BATCH; i++) {
        const steps: IntervalStep[] = [];
        findInterval(tree, xs[q], steps);
        visited += steps.length;
        q = (q + 1) & 4095;
      }
      sink += visited;
    },
  });
}

const bulk = setup(32768).entries;

Deno.bench({
  name: "insert 32768 segments in phys order, then erase them in the same order",
  group: "bulk",
  fn() {
    const t = new RbTree<Interval>((a, b) => a.dmaAddr < b.dmaAddr);
    const nodes = bulk.map((e) => t.insert(e));
    for (const node of nodes) t.erase(node);
    sink += t.size;
  },
});

globalThis.addEventListener("unload", () => {
  if (sink < 0) console.log(sink);
});
