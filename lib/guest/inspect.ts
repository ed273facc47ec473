/**
 * The inspection views of a guest (SPEC §9): segments, slots, tree, lookups, p2m, stats.
 * Each function reads the engine's state and returns a named view from views.ts with
 * every fact a face shows; none of them changes anything.
 *
 * @module
 */

import {
  type Addr,
  IO_TLB_SEGSIZE,
  IO_TLB_SIZE,
  PAGE_SIZE,
  pfnOf,
  SEGMENT_BYTES,
  segmentOf,
} from "../addr.ts";
import { addr, LabError, msg } from "../errors.ts";
import { positionPath, type RbNode } from "../rbtree.ts";
import type { SwiotlbCore } from "../swiotlb/mod.ts";
import { type InitAttempt, summarizeFixup } from "../swiotlb_xen/init.ts";
import {
  findInterval,
  intervalKey,
  intervalOverlaps,
  xenDmaEqualityWalk,
  type XenDmaInfo,
} from "../swiotlb_xen/tree.ts";
import {
  type BusLookup,
  type PhysLookup,
  type SwiotlbVerdict,
  swiotlbVerdict,
  translatePhys,
} from "../swiotlb_xen/translate.ts";
import type { Guest } from "./guest.ts";
import type {
  BusLookupView,
  GuestView,
  InitAttemptView,
  OrigRun,
  P2mView,
  PhysLookupView,
  SegmentRow,
  SegmentsView,
  SlotOwner,
  SlotRun,
  SlotsView,
  StatsView,
  TreeProblem,
  TreeRow,
  TreeView,
  VisitView,
} from "./views.ts";

/** Slots in use in segment `j` (counters at 0). */
function usedIn(core: SwiotlbCore, j: number): number {
  let used = 0;
  const end = Math.min(core.nslabs, (j + 1) * IO_TLB_SEGSIZE);
  for (let i = j * IO_TLB_SEGSIZE; i < end; i++) if (core.freeRun[i] === 0) used++;
  return used;
}

/** `segments`: the RFC's array with the alignment check. */
export function segmentsView(g: Guest): SegmentsView {
  const x = g.swiotlbXen;
  const init = { swiotlbXen: g.init.swiotlbXen, ok: g.init.ok, use: g.init.use };
  if (!x) return { rows: [], misaligned: [], sharedBus: [], mistranslated: [], init };
  const rows: SegmentRow[] = x.seg.map((s) => ({
    index: s.index,
    physAddr: s.physAddr,
    dmaAddr: s.dmaAddr,
    size: s.size,
    slots: s.size / IO_TLB_SIZE,
    slotsInUse: usedIn(x.core, s.index),
    aligned: s.dmaAddr % SEGMENT_BYTES === 0,
    misalignment: s.dmaAddr % SEGMENT_BYTES,
    translatedBus: translatePhys(x, s.physAddr),
    mfnFirst: pfnOf(g.domain.physToMachine(s.physAddr)),
    mfnLast: pfnOf(g.domain.physToMachine(s.physAddr + s.size - 1)),
  }));
  const byBus = new Map<number, number[]>();
  for (const r of rows) byBus.set(r.dmaAddr, [...(byBus.get(r.dmaAddr) ?? []), r.index]);
  return {
    rows,
    misaligned: rows.filter((r) => !r.aligned).map((r) => r.index),
    sharedBus: [...byBus].filter(([, segs]) => segs.length > 1).map(([dmaAddr, segments]) => ({
      dmaAddr,
      segments,
    })),
    mistranslated: rows.filter((r) => r.translatedBus !== r.dmaAddr).map((r) => r.index),
    init,
  };
}

/** Every problem of the bus→phys tree: the rbtree's rules plus the RFC's overlaps (SPEC §9). */
export function treeProblems(g: Guest): TreeProblem[] {
  const tree = g.busTree;
  if (!tree) return [];
  return [...tree.validate({ unique: true, key: intervalKey }), ...intervalOverlaps(tree)].map(
    (p) => ({
      rule: p.rule,
      path: p.path,
      node: p.node
        ? { dmaAddr: p.node.dmaAddr, physAddr: p.node.physAddr, size: p.node.size }
        : null,
      message: p.message,
    }),
  );
}

/** Where the node that holds bus address `bus` hangs, by the RFC's own walk, or null. */
export function treePathAt(g: Guest, bus: Addr): string | null {
  const tree = g.busTree;
  if (!tree || typeof bus !== "number") return null;
  const n = findInterval(tree, bus);
  return n === null ? null : positionPath(n);
}

/** `tree`: preorder and in-order rows, the validator's verdict, the height. */
export function treeView(g: Guest): TreeView {
  const tree = g.busTree;
  const init = { swiotlbXen: g.init.swiotlbXen, ok: g.init.ok, use: g.init.use };
  if (!tree) {
    return { present: false, preorder: [], inorder: [], problems: [], height: 0, nodes: 0, init };
  }
  const core = g.core;
  const row = (n: RbNode<XenDmaInfo>): TreeRow => ({
    dmaAddr: n.entry.dmaAddr,
    physAddr: n.entry.physAddr,
    size: n.entry.size,
    kind: n.entry.kind,
    segment: n.entry.kind === "segment" ? n.entry.index : null,
    color: n.color,
    path: positionPath(n),
    slotsInUse: n.entry.kind === "segment" && core && g.init.ok
      ? usedIn(core, n.entry.index)
      : null,
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
    present: true,
    preorder,
    inorder,
    problems: treeProblems(g),
    height: tree.height(),
    nodes: tree.size,
    init,
  };
}

function visit(e: XenDmaInfo, cmp: VisitView["cmp"], path: string): VisitView {
  return {
    dmaAddr: e.dmaAddr,
    physAddr: e.physAddr,
    size: e.size,
    kind: e.kind,
    segment: e.kind === "segment" ? e.index : null,
    cmp,
    path,
  };
}

/** `lookup bus` as a view. */
export function busLookupView(
  r: BusLookup,
  treeHeight: number,
  swiotlb: SwiotlbVerdict | null,
  equality: BusLookupView["equality"],
): BusLookupView {
  // The walk is a descent from the root, so each comparison names the next node's side.
  let path = "root";
  const visited = r.visited.map((s, i) => {
    if (i > 0) path += r.visited[i - 1].cmp === "left" ? "/l" : "/r";
    return visit(s.node as XenDmaInfo, s.cmp, path);
  });
  return {
    bus: r.bus,
    phys: r.phys,
    found: r.found,
    rule: r.rule,
    segment: r.segment,
    offset: r.offset,
    node: r.node ? visit(r.node, "hit", path) : null,
    visited,
    treeHeight,
    swiotlb,
    equality,
  };
}

/** `lookup phys` as a view. */
export function physLookupView(r: PhysLookup): PhysLookupView {
  return { ...r };
}

/**
 * The mappings over slots `first..end-1`, per slot, oldest first: the debug layer's live
 * ones, and the ones a mismatching unmap released (their driver never unmapped them).
 * More than one is a flaw's picture: a later mapping was handed slots another holds.
 */
function ownersIn(g: Guest, first: number, end: number): SlotOwner[][] {
  const per: SlotOwner[][] = Array.from({ length: end - first }, () => []);
  const report = g.debugReport();
  const all = [
    ...report.live.map((m) => ({ m, by: null })),
    ...report.released.map((r) => ({ m: r.mapping, by: r.by })),
  ].sort((a, b) => a.m.id - b.m.id);
  for (const { m, by } of all) {
    if (m.slot === null) continue;
    const owner: SlotOwner = {
      device: m.device,
      type: m.type,
      dir: m.dir,
      bus: m.bus,
      call: m.call,
      releasedBy: by,
    };
    const from = Math.max(first, m.slot);
    const to = Math.min(end, m.slot + m.nslots);
    for (let i = from; i < to; i++) per[i - first].push(owner);
  }
  return per;
}

/** Groups consecutive used slots whose orig_addr steps by one slot into a run. */
function origRuns(
  g: Guest,
  core: SwiotlbCore,
  first: number,
  end: number,
  owners: readonly SlotOwner[][],
): OrigRun[] {
  const runs: OrigRun[] = [];
  const buffers = g.buffers();
  for (let i = first; i < end; i++) {
    if (core.freeRun[i] !== 0) continue;
    const orig = core.origAddr[i];
    const last = runs[runs.length - 1];
    // Two mappings whose buffers happen to lie back to back are still two runs.
    const sameMapping = i === first || sameOwners(owners[i - first], owners[i - 1 - first]);
    if (
      last && last.slot + last.count === i && last.orig + last.count * IO_TLB_SIZE === orig &&
      sameMapping
    ) {
      last.count++;
      continue;
    }
    const b = buffers.find((b) => b.phys <= orig && orig < b.phys + b.size);
    runs.push({ slot: i, count: 1, orig, buffer: b?.name ?? null, offset: b ? orig - b.phys : 0 });
  }
  return runs;
}

/** `slots [SEGMENT]`: counters, used and free runs with their owners, busy segments. */
export function slotsView(g: Guest, segment?: number): SlotsView {
  const core = g.core;
  if (!core) {
    throw new LabError("No bounce pool: swiotlb-xen failed to initialise", "failed", "no-pool");
  }
  const nseg = Math.ceil(core.nslabs / IO_TLB_SEGSIZE);
  if (segment !== undefined && (!Number.isInteger(segment) || segment < 0 || segment >= nseg)) {
    throw new LabError(
      msg`No segment ${segment}: the pool has segments 0 to ${nseg - 1}`,
      "usage",
      "unknown-segment",
    );
  }
  const first = segment === undefined ? 0 : segment * IO_TLB_SEGSIZE;
  const end = segment === undefined ? core.nslabs : Math.min(core.nslabs, first + IO_TLB_SEGSIZE);
  const list = Array.from(core.freeRun.subarray(first, end));
  const runs: SlotRun[] = [];
  const owners = ownersIn(g, first, end);
  for (let i = first; i < end; i++) {
    const used = core.freeRun[i] === 0;
    const here = used ? owners[i - first] : [];
    const last = runs[runs.length - 1];
    // A run is slots of one state and one set of live mappings (so two adjacent
    // mappings are two runs, and slots two mappings claim are a run of their own).
    if (
      last && last.used === used && last.start + last.count === i && sameOwners(last.owners, here)
    ) {
      last.count++;
      last.counterLast = core.freeRun[i];
    } else {
      runs.push({
        start: i,
        count: 1,
        used,
        counterFirst: core.freeRun[i],
        counterLast: core.freeRun[i],
        owner: here[0] ?? null,
        owners: here,
      });
    }
  }
  const busy = [];
  for (let j = 0; j < nseg; j++) {
    const used = usedIn(core, j);
    if (used > 0) {
      busy.push({
        index: j,
        first: j * IO_TLB_SEGSIZE,
        slots: Math.min(IO_TLB_SEGSIZE, core.nslabs - j * IO_TLB_SEGSIZE),
        used,
      });
    }
  }
  return {
    nslabs: core.nslabs,
    hint: core.hint,
    hintSegment: segmentOf(core.hint * IO_TLB_SIZE),
    segment: segment ?? null,
    first,
    list,
    used: list.filter((c) => c === 0).length,
    segments: nseg,
    busy,
    freeSegments: nseg - busy.length,
    runs,
    orig: origRuns(g, core, first, end, owners),
  };
}

/**
 * The p2m of `count` guest frames from `pfn`, as machine-contiguous runs. A guest
 * frame number is `phys >> 12` (so an identity-mapped ARM dom0's pfns equal its mfns),
 * while the domain indexes its p2m from its first page.
 */
export function p2mView(g: Guest, pfn: number, count: number): P2mView {
  const dom = g.domain;
  const base = dom.physBase / PAGE_SIZE;
  const first = dom.nrPages > 0 ? base : 0;
  if (!Number.isInteger(pfn) || pfn < first || pfn >= first + dom.nrPages) {
    throw new LabError(
      msg`pfn ${addr(pfn)} is outside ${dom.name}'s memory (pfns ${addr(first)}-${
        addr(first + dom.nrPages - 1)
      })`,
      "usage",
      "outside-memory",
    );
  }
  const n = Math.min(count, first + dom.nrPages - pfn);
  const runs = dom.contiguityRuns(pfn - base, n).map((r) => ({ ...r, pfn: r.pfn + base }));
  return { pfn, count: n, runs };
}

/** `lookup bus`: xen_bus_to_phys and its path. */
export function lookupBus(g: Guest, bus: Addr): BusLookupView {
  // Validate, then commit: a refused lookup (no DMA ops, a dead guest) counts nothing.
  const view = lookupBusView(g, bus);
  g.counters.lookups++;
  g.counters.lookupNodesVisited += view.visited.length;
  return view;
}

function lookupBusView(g: Guest, bus: Addr): BusLookupView {
  const x = g.swiotlbXen;
  if (!x) {
    const ops = g.requireMapping().ops;
    return {
      bus,
      phys: ops.busToPhys(bus),
      found: true,
      rule: "direct",
      segment: null,
      offset: null,
      node: null,
      visited: [],
      treeHeight: 0,
      swiotlb: null,
      equality: null,
    };
  }
  const r = x.lookupBus(bus);
  // The reviewer's == (the seed), only where the RFC's tree is the rule.
  const eq = x.autotranslate && typeof bus === "number" ? xenDmaEqualityWalk(x.tree, bus) : null;
  const equality = x.autotranslate ? { found: eq !== null, dmaAddr: eq?.dmaAddr ?? null } : null;
  return busLookupView(r, x.tree.height(), swiotlbVerdict(x, bus), equality);
}

/** `lookup phys`: xen_phys_to_bus and its arithmetic. */
export function lookupPhys(g: Guest, phys: number): PhysLookupView {
  const x = g.swiotlbXen;
  if (!x) {
    return {
      phys,
      bus: g.requireMapping().ops.physToBus(phys),
      found: true,
      rule: "direct",
      segment: null,
      segDmaAddr: null,
      segPhysAddr: null,
      offset: null,
      poolPhys: g.init.poolPhys,
    };
  }
  return physLookupView(x.lookupPhys(phys));
}

/** `stats` (SPEC §9): every counter. */
export function statsView(g: Guest): StatsView {
  const c = g.core?.stats;
  const m = g.mapping?.counters;
  const tree = g.swiotlbXen?.tree;
  return {
    maps: m?.maps ?? 0,
    bounces: m?.bounces ?? 0,
    fast_paths: m?.fastPaths ?? 0,
    map_errors: m?.mapErrors ?? 0,
    sg_maps: m?.sgMaps ?? 0,
    coherent_allocs: m?.coherentAllocs ?? 0,
    core_maps: c?.maps ?? 0,
    core_unmaps: c?.unmaps ?? 0,
    syncs: c?.syncs ?? 0,
    failed_maps: c?.failedMaps ?? 0,
    bytes_to_device: c?.bytesToDevice ?? 0,
    bytes_from_device: c?.bytesFromDevice ?? 0,
    slots_used: c?.slotsUsed ?? 0,
    slots_high_water: c?.highWater ?? 0,
    nslabs: g.core?.nslabs ?? 0,
    tree_nodes: tree?.size ?? 0,
    tree_height: tree?.height() ?? 0,
    lookups: g.counters.lookups,
    lookup_nodes_visited: g.counters.lookupNodesVisited,
    iommu_faults: g.counters.iommuFaults,
    stray_writes: g.counters.strayWrites,
    ub_events: g.events.counts.ub,
    leaked_coherent_bytes: g.swiotlbXen?.leakedCoherentBytes ?? 0,
  };
}

/** Everything `guest new` and `guest show` describe. */
export function guestView(g: Guest): GuestView {
  const dom = g.domain;
  const { min: lo, max: hi } = dom.p2m.bounds(0, dom.nrPages);
  const tree = g.busTree;
  return {
    config: g.config,
    ops: g.ops?.kind ?? null,
    domid: dom.domid,
    memBytes: dom.memBytes,
    physBase: dom.physBase,
    physEnd: dom.physEnd,
    firstMfn: lo,
    lastMfn: hi,
    machineBytes: g.config.machine,
    init: g.init,
    treeNodes: tree?.size ?? 0,
    treeHeight: tree?.height() ?? 0,
    treeValid: treeProblems(g).length === 0,
  };
}

function sameOwners(a: readonly SlotOwner[], b: readonly SlotOwner[]): boolean {
  return a.length === b.length && a.every((o, i) => o === b[i]);
}

/** One pass of the init retry loop as a view (SPEC §5 step 4). */
export function attemptView(a: InitAttempt): InitAttemptView {
  return {
    nslabs: a.nslabs,
    poolPhys: a.poolPhys ?? null,
    failure: a.failure ?? null,
    fixup: summarizeFixup(a.tries),
    tries: a.tries,
  };
}
