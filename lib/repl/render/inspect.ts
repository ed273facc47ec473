/**
 * Text views of the inspection verbs (SPEC §9): lookups with their path, the segment
 * table, the slot map, p2m runs and counters.
 *
 * @module
 */

import Table from "cli-table3";
import { IO_TLB_SEGSIZE, IO_TLB_SIZE, SEGMENT_BYTES } from "../../addr.ts";
import type { Guest, SegmentRow } from "../../guest/guest.ts";
import type { Fmt } from "./format.ts";
import { plural, sizeArg } from "./format.ts";
import { next } from "./guest.ts";

type BusLookup = ReturnType<Guest["lookupBus"]>;
type PhysLookup = ReturnType<Guest["lookupPhys"]>;
type Slots = NonNullable<ReturnType<Guest["slots"]>>;

/** `lookup bus`: the answer, then every node visited and the comparison made there. */
export function renderLookupBus(
  addr: number,
  r: BusLookup,
  treeHeight: number,
  fmt: Fmt,
): string[] {
  const out: string[] = [];
  if (r.found) {
    const hit = r.visited.find((v) => v.cmp === "hit");
    const where = [
      ...(r.segment === null ? [] : [`segment ${r.segment}`]),
      ...(hit ? [`offset ${fmt.num(addr - hit.dmaAddr)}`] : []),
    ];
    out.push(
      `bus ${fmt.num(addr)} → phys ${fmt.num(r.phys)}` +
        (where.length ? `   (${where.join(", ")})` : ""),
    );
  } else {
    out.push(
      `bus ${fmt.num(addr)} → ${fmt.err("not found")}: no node with dma_addr <= ${
        fmt.num(addr)
      } < dma_addr + size; phys = ${fmt.num(r.phys)} (the error value)`,
    );
  }
  out.push(`  how: ${r.how}`);
  if (r.visited.length > 0) {
    const steps = r.visited.map((v, i) => {
      const iv = `[${fmt.num(v.dmaAddr)},+${sizeArg(v.size)})`;
      const what = v.cmp === "hit" ? fmt.green("contains ✓") : `go ${v.cmp}`;
      return `${i === 0 ? "root " : ""}${iv} ${what}`;
    });
    out.push(`  visited: ${steps.join(" → ")}`);
    out.push(`  ${plural(r.visited.length, "node")} visited (tree height ${treeHeight})`);
  }
  return out;
}

/** `lookup phys`. */
export function renderLookupPhys(addr: number, r: PhysLookup, fmt: Fmt): string[] {
  const seg = r.segment === null ? "" : `   (segment ${r.segment})`;
  return [
    r.found
      ? `phys ${fmt.num(addr)} → bus ${fmt.num(r.bus)}${seg}`
      : `phys ${fmt.num(addr)} → ${fmt.err("not translatable")}: bus = ${
        fmt.num(r.bus)
      } (the error value)`,
    `  how: ${r.how}`,
  ];
}

/** Above this many segments, `segments` shows the interesting rows only (unless --all). */
const SEGMENT_ROWS = 32;

/**
 * `segments`: the segment array as a table with the alignment check (SPEC §9). Long
 * arrays show the first 8 and last 2 rows plus every row in use or misaligned.
 */
export function renderSegments(rows: readonly SegmentRow[], fmt: Fmt, all: boolean): string[] {
  const table = new Table({
    head: ["seg", "phys", "bus", "size", "used", "bus aligned to size?", "mfns"],
    style: { head: [], border: [], compact: true },
  });
  const n = rows.length;
  const shown = (r: SegmentRow) =>
    all || n <= SEGMENT_ROWS || r.index < 8 || r.index >= n - 2 || r.slotsInUse > 0 || !r.aligned;
  let misaligned = 0;
  let skipped = 0;
  let count = 0;
  const flush = () => {
    if (skipped > 0) table.push(["⋮", `${skipped} more`, "", "", "", "", ""]);
    skipped = 0;
  };
  for (const r of rows) {
    if (!r.aligned) misaligned++;
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
      `${r.slotsInUse}/${r.size / IO_TLB_SIZE}`,
      r.aligned ? "yes" : fmt.err(`NO (+${fmt.num(r.dmaAddr % SEGMENT_BYTES)})`),
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
    `${n} segments; ` +
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

/** Slots as characters: '#' used, '.' free, two per character in the pool view. */
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

/** Groups consecutive slots whose orig_addr steps by one slot into a run. */
function origRuns(orig: readonly { slot: number; orig: number }[]) {
  const runs: { slot: number; count: number; orig: number }[] = [];
  for (const o of orig) {
    const last = runs[runs.length - 1];
    if (
      last && last.slot + last.count === o.slot && last.orig + last.count * IO_TLB_SIZE === o.orig
    ) {
      last.count++;
    } else runs.push({ slot: o.slot, count: 1, orig: o.orig });
  }
  return runs;
}

/** `slots [SEGMENT]`: used / free runs, the hint, orig_addr of used slots. */
export function renderSlots(s: Slots, segment: number | undefined, fmt: Fmt): string[] {
  const out: string[] = [];
  const { list, first } = s;
  const used = list.filter((c) => c === 0).length;
  if (segment === undefined) {
    const nseg = Math.ceil(s.nslabs / IO_TLB_SEGSIZE);
    const busy: number[] = [];
    for (let j = 0; j < nseg; j++) {
      const from = j * IO_TLB_SEGSIZE;
      const to = Math.min(from + IO_TLB_SEGSIZE, s.nslabs);
      if (list.slice(from, to).some((c) => c === 0)) busy.push(j);
    }
    out.push(
      `pool: ${s.nslabs} slots in ${nseg} segments, ${used} used; hint (io_tlb_index) ${s.index}` +
        ` (segment ${Math.floor(s.index / IO_TLB_SEGSIZE)})`,
    );
    const shown = busy.slice(0, 32);
    for (const j of shown) {
      const from = j * IO_TLB_SEGSIZE;
      const to = Math.min(from + IO_TLB_SEGSIZE, s.nslabs);
      const u = list.slice(from, to).filter((c) => c === 0).length;
      out.push(`  seg ${String(j).padStart(4)} |${bar(list, from, to, 2)}| ${u}/${to - from} used`);
    }
    if (busy.length > shown.length) {
      out.push(`  … ${busy.length - shown.length} more busy segments`);
    }
    const idle = nseg - busy.length;
    if (idle > 0) out.push(`  ${idle} segment(s) completely free`);
    out.push("  " + fmt.dim("(# two slots used, + one of two, . free)"));
  } else {
    const last = first + list.length - 1;
    out.push(
      `segment ${segment}: slots ${first}-${last}, ${used} used; hint (io_tlb_index) ${s.index}`,
    );
    for (let i = 0; i < list.length; i += 64) {
      const to = Math.min(i + 64, list.length);
      out.push(`  ${String(first + i).padStart(6)} |${bar(list, i, to, 1)}| ${first + to - 1}`);
    }
    for (const r of s.runs) {
      const range = r.count === 1 ? `${r.start}` : `${r.start}-${r.start + r.count - 1}`;
      if (r.used) {
        out.push(`  used ${range} (${r.count} slot${r.count === 1 ? "" : "s"})`);
      } else {
        const a = list[r.start - first];
        const b = list[r.start - first + r.count - 1];
        out.push(
          `  free ${range} (${r.count} slot${r.count === 1 ? "" : "s"}, counters ${a}…${b})`,
        );
      }
    }
  }
  for (const o of origRuns(s.orig).slice(0, 16)) {
    const range = o.count === 1 ? `slot ${o.slot}` : `slots ${o.slot}-${o.slot + o.count - 1}`;
    out.push(
      `  ${range} ← orig_addr ${fmt.num(o.orig)}${
        o.count > 1 ? ` (+${sizeArg(o.count * IO_TLB_SIZE)})` : ""
      }`,
    );
  }
  return out;
}

/** `p2m PFN COUNT`: contiguity runs. */
export function renderP2m(
  runs: readonly { pfn: number; mfn: number; count: number }[],
  fmt: Fmt,
): string[] {
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
      ? `${pages} page(s), machine-contiguous:`
      : `${pages} pages in ${runs.length} machine-contiguous runs:`,
  );
  return out;
}

/** `stats`: counters in two aligned columns. */
export function renderStats(stats: Record<string, number>, fmt: Fmt): string[] {
  const keys = Object.keys(stats);
  const w = Math.max(...keys.map((k) => k.length));
  const isBytes = (k: string) => k.startsWith("bytes_") || k.endsWith("_bytes");
  return keys.map((k) => {
    const v = stats[k];
    return `  ${k.padEnd(w)}  ${isBytes(k) && v > 0 ? `${v} (${fmt.size(v)})` : String(v)}`;
  });
}
