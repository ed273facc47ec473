/**
 * Text views of the inspection verbs (SPEC §9): lookups with their path, the segment
 * table, the slot map, p2m runs and counters.
 *
 * @module
 */

import Table from "cli-table3";
import type {
  BusLookupView,
  P2mView,
  PhysLookupView,
  SegmentRow,
  SegmentsView,
  SlotsView,
  StatsView,
  VisitView,
} from "../../guest/mod.ts";
import type { Fmt } from "./format.ts";
import { plural, sizeArg } from "./format.ts";
import { next } from "./guest.ts";
import { hitWords, ruleWords, useWords, verdictWords } from "./words.ts";
import { snakeKeys } from "./json_keys.ts";

/** `lookup bus`: the answer, then every node visited and the comparison made there. */
export function renderLookupBus(r: BusLookupView, fmt: Fmt): string[] {
  const out: string[] = [];
  const addr = fmt.num(r.bus);
  if (r.found) {
    const where = [
      ...(r.segment === null ? [] : [`segment ${r.segment}`]),
      ...(r.offset === null ? [] : [`offset ${fmt.num(r.offset)}`]),
    ];
    out.push(
      `bus ${addr} → phys ${fmt.num(r.phys)}` + (where.length ? `   (${where.join(", ")})` : ""),
    );
  } else if (r.rule === "pv-m2p") {
    out.push(
      `bus ${addr} → ${fmt.err("not found")}: the m2p has no frame of this guest there; ` +
        `phys = ${fmt.num(r.phys)} (the error value)`,
    );
  } else {
    out.push(
      `bus ${addr} → ${
        fmt.err("not found")
      }: no node with dma_addr <= ${addr} < dma_addr + size; ` +
        `phys = ${fmt.num(r.phys)} (the error value)`,
    );
  }
  out.push(
    `  how: ${r.node ? hitWords(r.node, fmt) + ": " : ""}${ruleWords(r.rule, "bus")}`,
  );
  if (r.visited.length > 0) {
    out.push("  visited, with the interval test dma_addr <= bus < dma_addr + size:");
    r.visited.forEach((v, i) => {
      const node = `${i === 0 ? "root " : ""}${fmt.interval(v.dmaAddr, v.size)}`;
      out.push(`    ${node}: ${comparisonWords(v, addr, fmt)}`);
    });
    out.push(`  ${plural(r.visited.length, "node")} visited (tree height ${r.treeHeight})`);
  }
  if (r.equality !== null && typeof r.bus === "number") {
    const hit = r.visited.find((v) => v.cmp === "hit");
    out.push(
      r.equality.found
        ? `  the reviewer's == would find it too: ${addr} is a node's first byte`
        : hit
        ? `  the reviewer's ==: ${addr} == ${fmt.num(hit.dmaAddr)}? no → the walk goes on ` +
          "and misses (map_page hands out addresses inside segments, not only their starts)"
        : "  the reviewer's == would miss it as well",
    );
  }
  if (r.swiotlb !== null) out.push(`  is_xen_swiotlb_buffer: ${verdictWords(r.swiotlb)}`);
  return out;
}

/** The `--json` object of `lookup bus` (SPEC §10 fields first). */
export function lookupBusJson(r: BusLookupView): Record<string, unknown> {
  return {
    phys: r.phys,
    segment: r.segment,
    visited: r.visited.map((v) => v.dmaAddr),
    bus: r.bus,
    found: r.found,
    rule: r.rule,
    offset: r.offset,
    node: snakeKeys(r.node),
    nodes_visited: r.visited.length,
    tree_height: r.treeHeight,
    is_xen_swiotlb_buffer: r.swiotlb,
    equality: snakeKeys(r.equality),
    steps: r.visited.map((v) => ({
      dma_addr: v.dmaAddr,
      phys_addr: v.physAddr,
      size: v.size,
      dma_end: v.dmaAddr + v.size,
      kind: v.kind,
      segment: v.segment,
      cmp: v.cmp,
    })),
  };
}

/** `lookup phys`. */
export function renderLookupPhys(r: PhysLookupView, fmt: Fmt): string[] {
  const seg = r.segment === null ? "" : `   (segment ${r.segment})`;
  const how = r.segDmaAddr !== null && r.offset !== null
    ? `${ruleWords(r.rule, "phys", r.segment ?? "j")} = ${fmt.num(r.segDmaAddr)} + ${
      fmt.num(r.offset)
    }`
    : r.found
    ? ruleWords(r.rule, "phys")
    : "outside the pool: the RFC has no translation (DMA error code)";
  const index = r.segment !== null && (r.rule === "rfc" || r.rule === "rfc-v1")
    ? [
      `  index: j = (phys - pool) / 256 KiB = (${fmt.num(r.phys)} - ${
        fmt.num(r.poolPhys)
      }) / 256 KiB = ${r.segment}: an array access, 0 tree nodes visited`,
    ]
    : [];
  return [
    r.found
      ? `phys ${fmt.num(r.phys)} → bus ${fmt.num(r.bus)}${seg}`
      : `phys ${fmt.num(r.phys)} → ${fmt.err("not translatable")}: bus = ${
        fmt.num(r.bus)
      } (the error value)`,
    ...index,
    `  how: ${how}`,
  ];
}

/** The `--json` object of `lookup phys`. */
export function lookupPhysJson(r: PhysLookupView): Record<string, unknown> {
  return {
    bus: r.bus,
    segment: r.segment,
    phys: r.phys,
    found: r.found,
    rule: r.rule,
    seg_dma_addr: r.segDmaAddr,
    seg_phys_addr: r.segPhysAddr,
    offset: r.offset,
    pool_phys: r.poolPhys,
    segment_bytes: 256 * 1024,
  };
}

/** Above this many segments, `segments` shows the interesting rows only (unless --all). */
const SEGMENT_ROWS = 32;

/**
 * `segments`: the segment array as a table with the alignment check (SPEC §9). Long
 * arrays show the first 8 and last 2 rows plus every row in use or misaligned.
 */
export function renderSegments(v: SegmentsView, fmt: Fmt, all: boolean): string[] {
  const rows = v.rows;
  if (rows.length === 0) {
    return [
      `no segment array: ${
        v.init.swiotlbXen ? "swiotlb-xen failed to initialise" : useWords(v.init.use)
      }`,
    ];
  }
  const table = new Table({
    head: ["seg", "phys", "bus", "size", "used", "bus aligned to size?", "mfns"],
    style: { head: [], border: [], compact: true },
  });
  const n = rows.length;
  const shown = (r: SegmentRow) =>
    all || n <= SEGMENT_ROWS || r.index < 8 || r.index >= n - 2 || r.slotsInUse > 0 || !r.aligned;
  const misaligned = v.misaligned.length;
  let skipped = 0;
  let count = 0;
  const flush = () => {
    if (skipped > 0) table.push(["⋮", `${skipped} more`, "", "", "", "", ""]);
    skipped = 0;
  };
  for (const r of rows) {
    if (!shown(r)) {
      skipped++;
      continue;
    }
    flush();
    count++;
    table.push([
      String(r.index),
      `${fmt.num(r.physAddr)}-${fmt.num(r.physAddr + r.size - 1)}`,
      `${fmt.num(r.dmaAddr)}-${fmt.num(r.dmaAddr + r.size - 1)}`,
      sizeArg(r.size),
      `${r.slotsInUse}/${r.slots}`,
      r.aligned ? "yes" : fmt.err(`NO (+${fmt.num(r.misalignment)})`),
      `${fmt.num(r.mfnFirst)}-${fmt.num(r.mfnLast)}`,
    ]);
  }
  flush();
  const out = table.toString().split("\n");
  if (count < n) {
    out.push(
      fmt.dim(
        `(${count} of ${n} rows: the first 8, the last 2, any in use or misaligned; segments --all)`,
      ),
    );
  }
  out.push(
    `${plural(n, "segment")}; ` +
      (misaligned === 0
        ? "every bus base is aligned to its size, so seg[0].dma_addr as table base gives right boundary decisions"
        : fmt.err(`${misaligned} bus base(s) not aligned to the segment size`) +
          ": the core's boundary test with seg[0].dma_addr as table base is wrong there"),
  );
  out.push(
    next(fmt, "tree", "lookup bus " + (rows[0] ? fmt.num(rows[0].dmaAddr) : "ADDR"), "slots 0"),
  );
  return out;
}

/** Slots as characters: '#' used, '.' free, '+' half used, `per` slots a character. */
function bar(list: readonly number[], from: number, to: number, per: number): string {
  let s = "";
  for (let i = from; i < to; i += per) {
    let used = 0;
    const n = Math.min(per, to - i);
    for (let k = 0; k < n; k++) if (list[i + k] === 0) used++;
    s += used === 0 ? "." : used === n ? "#" : "+";
  }
  return s;
}

/** `slots [SEGMENT]`: used / free runs, the hint, orig_addr of used slots. */
export function renderSlots(s: SlotsView, fmt: Fmt): string[] {
  const out: string[] = [];
  const { list, first } = s;
  if (s.segment === null) {
    out.push(
      `pool: ${s.nslabs} slots in ${plural(s.segments, "segment")}, ${s.used} used; ` +
        `hint (io_tlb_index) ${s.hint} (segment ${s.hintSegment})`,
    );
    const shown = s.busy.slice(0, 32);
    for (const b of shown) {
      out.push(
        `  seg ${String(b.index).padStart(4)} |${bar(list, b.first, b.first + b.slots, 2)}| ` +
          `${b.used}/${b.slots} used`,
      );
    }
    if (s.busy.length > shown.length) {
      out.push(`  … ${s.busy.length - shown.length} more busy segments`);
    }
    if (s.freeSegments > 0) out.push(`  ${plural(s.freeSegments, "segment")} completely free`);
    out.push("  " + fmt.dim("(# two slots used, + one of two, . free)"));
  } else {
    const last = first + list.length - 1;
    out.push(
      `segment ${s.segment}: slots ${first}-${last}, ${s.used} used; hint (io_tlb_index) ${s.hint}`,
    );
    for (let i = 0; i < list.length; i += 64) {
      const to = Math.min(i + 64, list.length);
      out.push(`  ${String(first + i).padStart(6)} |${bar(list, i, to, 1)}| ${first + to - 1}`);
    }
    for (const r of s.runs) {
      const range = r.count === 1 ? `${r.start}` : `${r.start}-${r.start + r.count - 1}`;
      if (r.used) {
        const who = r.owners.map((o, i) =>
          `${i === 0 ? " — " : fmt.err(" AND ")}${o.device} ${o.type}, bus ${fmt.num(o.bus)}` +
          (o.releasedBy === null ? "" : ` (released by ${o.releasedBy}, never unmapped)`)
        ).join("");
        out.push(`  used ${range} (${plural(r.count, "slot")})${who}`);
      } else {
        out.push(
          `  free ${range} (${
            plural(r.count, "slot")
          }, counters ${r.counterFirst}…${r.counterLast})`,
        );
      }
    }
  }
  for (const o of s.orig.slice(0, 16)) {
    const range = o.count === 1 ? `slot ${o.slot}` : `slots ${o.slot}-${o.slot + o.count - 1}`;
    const buf = o.buffer === null ? "" : ` = ${o.buffer}+${fmt.num(o.offset)}`;
    out.push(
      `  ${range} ← orig_addr ${fmt.num(o.orig)}${
        o.count > 1 ? ` (+${sizeArg(o.count * 2048)})` : ""
      }${buf}`,
    );
  }
  return out;
}

/** The `--json` object of `slots` (SPEC §10 fields first). */
export function slotsJson(s: SlotsView): Record<string, unknown> {
  return {
    nslabs: s.nslabs,
    index: s.hint,
    list: s.list,
    first: s.first,
    last: s.first + s.list.length - 1,
    segment: s.segment,
    hint_segment: s.hintSegment,
    used: s.used,
    segments: s.segments,
    free_segments: s.freeSegments,
    busy: s.busy,
    runs: s.runs.map((r) => ({
      start: r.start,
      count: r.count,
      used: r.used,
      counter_first: r.counterFirst,
      counter_last: r.counterLast,
      owner: snakeKeys(r.owner),
      owners: snakeKeys(r.owners),
    })),
    orig: s.orig.map((o) => ({
      ...(snakeKeys(o) as object),
      bytes: o.count * 2048,
      slot_last: o.slot + o.count - 1,
    })),
  };
}

/** `p2m PFN COUNT`: contiguity runs. */
export function renderP2m(v: P2mView, fmt: Fmt): string[] {
  const runs = v.runs;
  const out = runs.map((r) =>
    r.count === 1
      ? `  pfn ${fmt.num(r.pfn)} → mfn ${fmt.num(r.mfn)}`
      : `  pfn ${fmt.num(r.pfn)}-${fmt.num(r.pfn + r.count - 1)} → mfn ${fmt.num(r.mfn)}-${
        fmt.num(r.mfn + r.count - 1)
      }  (${r.count} pages)`
  );
  const pages = runs.reduce((a, r) => a + r.count, 0);
  out.unshift(
    runs.length === 1
      ? `${plural(pages, "page")}, machine-contiguous:`
      : `${pages} pages in ${runs.length} machine-contiguous runs:`,
  );
  return out;
}

/** `stats`: counters in two aligned columns. */
export function renderStats(stats: StatsView, fmt: Fmt): string[] {
  const keys = Object.keys(stats) as (keyof StatsView)[];
  const w = Math.max(...keys.map((k) => k.length));
  const isBytes = (k: string) => k.startsWith("bytes_") || k.endsWith("_bytes");
  return keys.map((k) => {
    const v = stats[k];
    // The size in words only where it says more than the count ("8192 (8 KiB)").
    const size = isBytes(k) && v > 0 ? fmt.size(v) : "";
    return `  ${k.padEnd(w)}  ${size && size !== `${v} bytes` ? `${v} (${size})` : String(v)}`;
  });
}

/** One step of the interval walk: "0x100800 < 0x1c0000 → go left" (text and drawings). */
export function comparisonWords(v: VisitView, addr: string, fmt: Fmt): string {
  const end = fmt.num(v.dmaAddr + v.size);
  return v.cmp === "hit"
    ? `${fmt.num(v.dmaAddr)} <= ${addr} < ${end} ${fmt.green("✓ contains")}`
    : v.cmp === "left"
    ? `${addr} < ${fmt.num(v.dmaAddr)} → go left`
    : `${addr} >= ${end} → go right`;
}
