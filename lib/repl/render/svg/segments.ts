/**
 * `segments --svg`: the RFC's segment array as two lanes (issue 12). The pool's
 * guest-physical range is the upper lane, one box per segment; the bus addresses Xen
 * handed back are the lower lane, and a line joins each segment's phys to its bus. Bus
 * addresses cluster where Xen gave neighbouring extents; far-apart clusters are drawn
 * side by side with a break between them, so a scattered PV layout, a misaligned or
 * skewed base (orange), PVH's "everything at bus 0" (every line meets one box) and
 * rfc-v1's wrong offsets (a red dashed line where xen_phys_to_bus really sends the
 * segment's first byte) show at a glance. Every number comes from the engine's
 * {@link SegmentsView}.
 *
 * @module
 */

import type { SegmentRow, SegmentsView } from "../../../guest/mod.ts";
import { type Fmt, plural, sizeArg } from "../format.ts";
import { el, esc, svgDoc, title } from "./_xml.ts";

/** Scaled to 3/4 (the report's floor), this fits the column of an 800 px window. */
const WIDTH = 960;
const MARGIN = 20;
const PHYS_Y = 70;
const BUS_Y = 250;
const LANE_H = 30;
const BREAK = 28;

const STYLE = [
  ".seg rect{fill:#90caf9;stroke:#1565c0;stroke-width:.6}",
  ".seg.odd rect{fill:#bbdefb}.seg.misaligned rect{fill:#ffcc80;stroke:#e65100}",
  ".link{stroke:#1565c0;stroke-width:.7;opacity:.55}.link.misaligned{stroke:#e65100}",
  ".wrong{stroke:#c62828;stroke-width:1.4;stroke-dasharray:5 3}",
  ".lane{font-weight:bold}.axis{fill:#424242;font-size:10px}.head{font-size:13px;font-weight:bold}",
  ".break{stroke:#757575;stroke-width:1.5}.label{font-size:9px;fill:#0d47a1}",
  ".note{fill:#424242}.bad{fill:#c62828}",
].join("");

/** A run of bus addresses drawn as one stretch of the bus lane. */
interface Cluster {
  start: number;
  end: number;
  x: number;
  width: number;
}

/** Neighbouring segments' bus ranges join a cluster when the gap is under this. */
function joinGap(rows: readonly SegmentRow[]): number {
  return 4 * Math.max(...rows.map((r) => r.size));
}

/** Groups the bus ranges and shares the lane's width out by span (each at least 60 px). */
function clusters(rows: readonly SegmentRow[], width: number): Cluster[] {
  const sorted = [...rows].sort((a, b) => a.dmaAddr - b.dmaAddr);
  const gap = joinGap(rows);
  const out: Cluster[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.dmaAddr <= last.end + gap) last.end = Math.max(last.end, r.dmaAddr + r.size);
    else out.push({ start: r.dmaAddr, end: r.dmaAddr + r.size, x: 0, width: 0 });
  }
  const room = width - BREAK * (out.length - 1);
  const minW = Math.min(60, room / out.length);
  const total = out.reduce((s, c) => s + (c.end - c.start), 0);
  const spare = room - minW * out.length;
  let x = MARGIN;
  for (const c of out) {
    c.x = x;
    c.width = minW + spare * (c.end - c.start) / total;
    x += c.width + BREAK;
  }
  return out;
}

/** The x of bus address `a` on the bus lane (clamped into its cluster). */
function busX(cs: readonly Cluster[], a: number): number {
  let c = cs[0];
  for (const k of cs) if (k.start <= a) c = k;
  const t = Math.min(1, Math.max(0, (a - c.start) / (c.end - c.start)));
  return c.x + t * c.width;
}

/**
 * The segment array of `view` as one SVG document; `variant` names the translation
 * rule in the heading.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Guest } from "../../../../mod.ts";
 * import { Fmt } from "../format.ts";
 * import { segmentsSvg } from "./segments.ts";
 * const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
 * const svg = segmentsSvg(g.segments(), new Fmt(), "rfc");
 * // Four segments: a box in each lane and a line between them.
 * assertEquals(svg.match(/data-lane="phys"/g)?.length, 4);
 * assertEquals(svg.match(/data-lane="bus"/g)?.length, 4);
 * assertEquals(svg.match(/class="link/g)?.length, 4);
 * ```
 */
export function segmentsSvg(view: SegmentsView, fmt: Fmt, variant: string): string {
  const rows = view.rows;
  if (rows.length === 0) {
    return svgDoc("segments", WIDTH, 60, "no segment array", STYLE, [
      el("text", { class: "head", x: MARGIN, y: 30 }, "no segment array"),
    ]);
  }
  const inner = WIDTH - 2 * MARGIN;
  const pool = rows[0].physAddr;
  const poolEnd = rows[rows.length - 1].physAddr + rows[rows.length - 1].size;
  const physX = (p: number) => MARGIN + (p - pool) / (poolEnd - pool) * inner;
  const cs = clusters(rows, inner);
  const links: string[] = [];
  const boxes: string[] = [];
  const wide = inner / rows.length >= 26;
  for (const r of rows) {
    const cls = `seg${r.index % 2 ? " odd" : ""}${r.aligned ? "" : " misaligned"}`;
    const tip = `segment ${r.index}: phys ${fmt.num(r.physAddr)} → bus ${fmt.num(r.dmaAddr)} ` +
      `(+${sizeArg(r.size)}), ${r.slotsInUse} of ${r.slots} slots in use` +
      (r.aligned ? "" : `, bus base ${fmt.num(r.misalignment)} past a 256 KiB boundary`);
    const px = physX(r.physAddr);
    const pw = Math.max(1, physX(r.physAddr + r.size) - px);
    const bx = busX(cs, r.dmaAddr);
    const bw = Math.max(1, busX(cs, r.dmaAddr + r.size) - bx);
    boxes.push(el(
      "g",
      { class: cls, "data-segment": r.index, "data-lane": "phys" },
      title(tip) + el("rect", { x: px, y: PHYS_Y, width: pw, height: LANE_H }) +
        (wide ? el("text", { class: "label", x: px + 2, y: PHYS_Y + 12 }, String(r.index)) : ""),
    ));
    boxes.push(el(
      "g",
      { class: cls, "data-segment": r.index, "data-lane": "bus" },
      title(tip) + el("rect", { x: bx, y: BUS_Y, width: bw, height: LANE_H }) +
        (wide ? el("text", { class: "label", x: bx + 2, y: BUS_Y + 12 }, String(r.index)) : ""),
    ));
    links.push(el("line", {
      class: r.aligned ? "link" : "link misaligned",
      x1: px + pw / 2,
      y1: PHYS_Y + LANE_H,
      x2: bx + bw / 2,
      y2: BUS_Y,
    }));
    if (view.mistranslated.includes(r.index) && typeof r.translatedBus === "number") {
      links.push(el(
        "line",
        {
          class: "wrong",
          "data-segment": r.index,
          x1: px,
          y1: PHYS_Y + LANE_H,
          x2: busX(cs, r.translatedBus),
          y2: BUS_Y,
        },
        title(
          `xen_phys_to_bus(${fmt.num(r.physAddr)}) = ${fmt.num(r.translatedBus)} under ` +
            `${variant}, but segment ${r.index}'s bus base is ${fmt.num(r.dmaAddr)}`,
        ),
      ));
    }
  }
  const axis: string[] = [];
  cs.forEach((c, i) => {
    axis.push(el("text", { class: "axis", x: c.x, y: BUS_Y + LANE_H + 14 }, esc(fmt.num(c.start))));
    if (c.width > 120) {
      axis.push(el(
        "text",
        { class: "axis", x: c.x + c.width, y: BUS_Y + LANE_H + 14, "text-anchor": "end" },
        esc(fmt.num(c.end)),
      ));
    }
    if (i > 0) {
      const x = c.x - BREAK / 2;
      axis.push(el("path", {
        class: "break",
        d: `M${x - 4},${BUS_Y + LANE_H + 4} l4,-8 l4,8 M${x - 4},${BUS_Y - 4} l4,-8 l4,8`,
      }));
    }
  });
  const notes = [
    `${plural(rows.length, "segment")}; ${plural(view.misaligned.length, "bus base")} not ` +
    "aligned to 256 KiB (orange); bus lane breaks (^) join far-apart clusters",
  ];
  if (view.sharedBus.length > 0) {
    notes.push(
      view.sharedBus.map((b) => `${b.segments.length} segments share bus ${fmt.num(b.dmaAddr)}`)
        .join("; ") +
        " — a bus→phys lookup can find only one of them",
    );
  }
  if (view.mistranslated.length > 0) {
    notes.push(
      `${variant}: xen_phys_to_bus sends ${
        plural(view.mistranslated.length, "segment")
      }' first byte ` +
        "away from its bus base (red dashed)",
    );
  }
  const heading = `segment array (${variant}): pool phys ${fmt.num(pool)}–${fmt.num(poolEnd)}`;
  const height = BUS_Y + LANE_H + 30 + notes.length * 15;
  return svgDoc("segments", WIDTH, height, heading, STYLE, [
    el("text", { class: "head", x: MARGIN, y: 20 }, esc(heading)),
    el("text", { class: "lane", x: MARGIN, y: PHYS_Y - 8 }, "guest phys (seg[j].phys_addr)"),
    el(
      "text",
      { class: "axis", x: WIDTH - MARGIN, y: PHYS_Y - 8, "text-anchor": "end" },
      esc(
        `${fmt.num(pool)} … ${fmt.num(poolEnd)}`,
      ),
    ),
    el("text", { class: "lane", x: MARGIN, y: BUS_Y - 14 }, "bus (seg[j].dma_addr from Xen)"),
    ...links,
    ...boxes,
    ...axis,
    ...notes.map((n, i) =>
      el("text", {
        class: i === 0 ? "note" : "note bad",
        x: MARGIN,
        y: BUS_Y + LANE_H + 34 + i * 15,
      }, esc(n))
    ),
  ]);
}
