/**
 * The inspection views of a guest (SPEC §9): segments, slots, tree, p2m. Moved out of
 * the guest; each function reads the engine's state and changes nothing.
 *
 * @module
 */

import { formatHex, IO_TLB_SEGSIZE, IO_TLB_SIZE, PAGE_SIZE, SEGMENT_BYTES } from "../addr.ts";
import { LabError } from "../errors.ts";
import { positionPath, type RbNode } from "../rbtree.ts";
import {
  type BusTree,
  intervalKey,
  intervalOverlaps,
  type XenDmaInfo,
} from "../swiotlb_xen/tree.ts";
import type { Guest, SegmentRow, TreeRow } from "./guest.ts";

/** `segments`: the RFC's array with the alignment check. */
export function segments(g: Guest): SegmentRow[] {
  const x = g.swiotlbXen;
  if (!x) return [];
  return x.seg.map((s) => {
    const first = s.index * IO_TLB_SEGSIZE;
    let used = 0;
    for (let i = first; i < first + s.size / IO_TLB_SIZE; i++) {
      if (x.core.freeRun[i] === 0) used++;
    }
    return {
      index: s.index,
      physAddr: s.physAddr,
      dmaAddr: s.dmaAddr,
      size: s.size,
      slotsInUse: used,
      aligned: s.dmaAddr % SEGMENT_BYTES === 0,
      mfnFirst: g.domain.physToMachine(s.physAddr) / PAGE_SIZE,
      mfnLast: g.domain.physToMachine(s.physAddr + s.size - 1) / PAGE_SIZE | 0,
    };
  });
}

/** Every problem of the bus→phys tree (SPEC §9). */
export function treeProblems(tree: BusTree): string[] {
  // SPEC §9: --validate also checks that no two bus intervals overlap. Callers print
  // messages; each starts with its rule and names the node, so the text alone suffices.
  return [...tree.validate({ unique: true, key: intervalKey }), ...intervalOverlaps(tree)]
    .map((p) => p.message);
}

/** The bus→phys tree (also after a failed init), or undefined when the mode has none. */
export function tree(g: Guest) {
  const tree = g.busTree;
  if (!tree) return undefined;
  const row = (n: RbNode<XenDmaInfo>): TreeRow => ({
    dmaAddr: n.entry.dmaAddr,
    physAddr: n.entry.physAddr,
    size: n.entry.size,
    kind: n.entry.kind,
    color: n.color,
    path: positionPath(n),
  });
  const preorder: TreeRow[] = [];
  const walk = (n: RbNode<XenDmaInfo> | null) => {
    if (!n) return;
    preorder.push(row(n));
    walk(n.left);
    walk(n.right);
  };
  walk(tree.root);
  const inorder: TreeRow[] = [];
  for (let n = tree.first(); n; n = tree.next(n)) inorder.push(row(n));
  return {
    preorder,
    inorder,
    problems: treeProblems(tree),
    height: tree.height(),
    root: tree.root,
  };
}

/** `slots [SEGMENT]`. */
export function slots(g: Guest, segment?: number) {
  const core = g.core;
  if (!core) return undefined;
  const nseg = Math.ceil(core.nslabs / IO_TLB_SEGSIZE);
  if (segment !== undefined && (!Number.isInteger(segment) || segment < 0 || segment >= nseg)) {
    throw new LabError(`No segment ${segment}: the pool has segments 0 to ${nseg - 1}`);
  }
  const first = segment === undefined ? 0 : segment * IO_TLB_SEGSIZE;
  const end = segment === undefined ? core.nslabs : Math.min(core.nslabs, first + IO_TLB_SEGSIZE);
  const list = Array.from(core.freeRun.subarray(first, end));
  const runs: { start: number; count: number; used: boolean }[] = [];
  const orig: { slot: number; orig: number }[] = [];
  for (let i = first; i < end; i++) {
    const used = core.freeRun[i] === 0;
    const last = runs[runs.length - 1];
    if (last && last.used === used && last.start + last.count === i) last.count++;
    else runs.push({ start: i, count: 1, used });
    if (used) orig.push({ slot: i, orig: core.origAddr[i] });
  }
  return { nslabs: core.nslabs, index: core.hint, first, list, runs, orig };
}

/**
 * The p2m of `count` guest frames from `pfn`, as machine-contiguous runs. A guest
 * frame number is `phys >> 12` (so an identity-mapped ARM dom0's pfns equal its mfns),
 * while the domain indexes its p2m from its first page.
 */
export function p2m(g: Guest, pfn: number, count: number) {
  const base = g.domain.physBase / PAGE_SIZE;
  const first = g.domain.nrPages > 0 ? base : 0;
  if (!Number.isInteger(pfn) || pfn < first || pfn >= first + g.domain.nrPages) {
    throw new LabError(
      `pfn ${formatHex(pfn)} is outside ${g.domain.name}'s memory (pfns ${formatHex(first)}-${
        formatHex(first + g.domain.nrPages - 1)
      })`,
    );
  }
  const n = Math.min(count, first + g.domain.nrPages - pfn);
  return g.domain.contiguityRuns(pfn - base, n).map((r) => ({ ...r, pfn: r.pfn + base }));
}
