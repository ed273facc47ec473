/**
 * `slots --svg`: the bounce pool as a strip per segment (issue 12). Each segment is a row
 * of its slots; used slots take the colour of the live mapping that holds them (its
 * device, type and direction in the legend), slots two live mappings claim are drawn
 * split between both colours (a flaw's picture: one mapping painted over another), used
 * slots no live mapping explains are hatched, and the hint (io_tlb_index) is marked.
 * Long stretches of wholly free segments fold into one line. Everything drawn comes
 * from the engine's {@link SlotsView} (whole pool or one segment).
 *
 * @module
 */

import type { SlotOwner, SlotRun, SlotsView } from "../../../guest/mod.ts";
import { directionName } from "../../../direction.ts";
import { type Fmt, plural } from "../format.ts";
import { el, esc, svgDoc, title } from "./_xml.ts";

/** A slot's width: 7 px in the whole-pool view, twice that for one segment. */
const CELL_W = 7;
const CELL_H = 14;
const ROW_GAP = 5;
const LEFT = 74;
const TOP = 52;
const SLOTS_PER_SEGMENT = 128;
/** Folded free stretches are this tall. */
const FOLD_H = 14;
/** A character of 10 px monospace, generously (most fonts draw 6 px). */
const CHAR_W = 6.6;

const PALETTE = [
  "#1e88e5",
  "#43a047",
  "#8e24aa",
  "#f4511e",
  "#00897b",
  "#fdd835",
  "#6d4c41",
  "#d81b60",
  "#3949ab",
  "#7cb342",
];

const STYLE = [
  ".free{fill:#eceff1;stroke:#cfd8dc;stroke-width:.5}.orphan{fill:url(#swl-hatch)}",
  ".hint{fill:#c62828}.row{fill:#424242;font-size:10px}.fold{fill:#9e9e9e;font-size:10px}",
  ".head{font-size:13px;font-weight:bold}.legend{font-size:10px}.bad{fill:#c62828}",
].join("");

/** One drawn row: a segment, or a folded stretch of free segments. */
type Row = { kind: "segment"; index: number } | { kind: "fold"; from: number; to: number };

function rowsOf(view: SlotsView): Row[] {
  if (view.segment !== null) return [{ kind: "segment", index: view.segment }];
  const shown = new Set(view.busy.map((b) => b.index));
  shown.add(view.hintSegment);
  const rows: Row[] = [];
  for (let j = 0; j < view.segments; j++) {
    if (shown.has(j) || view.segments <= 16) {
      rows.push({ kind: "segment", index: j });
      continue;
    }
    const last = rows[rows.length - 1];
    if (last?.kind === "fold" && last.to === j - 1) last.to = j;
    else rows.push({ kind: "fold", from: j, to: j });
  }
  return rows;
}

function mappingWords(o: SlotOwner, fmt: Fmt): string {
  return `${o.device} ${o.type} ${directionName(o.dir)} bus ${fmt.num(o.bus)} (${o.call})` +
    (o.releasedBy === null ? "" : ` — released by ${o.releasedBy}, never unmapped`);
}

/**
 * The slots of `view` as one SVG document.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DMA_TO_DEVICE, Guest } from "../../../../mod.ts";
 * import { Fmt } from "../format.ts";
 * import { slotsSvg } from "./slots.ts";
 * const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
 * g.addDevice({ name: "nic", maskBits: 32 });
 * g.map("nic", g.allocBuffer("rx", 8192).phys, 8192, DMA_TO_DEVICE);
 * const svg = slotsSvg(g.slots(), new Fmt());
 * // One mapping of four slots, one legend entry; the hint after it.
 * assertEquals(svg.match(/class="used"/g)?.length, 1);
 * assertEquals(svg.match(/class="legend"/g)?.length, 1);
 * assertEquals(svg.match(/data-hint="4"/g)?.length, 1);
 * ```
 */
export function slotsSvg(view: SlotsView, fmt: Fmt): string {
  const colours = new Map<string, string>();
  const legend: { colour: string; text: string }[] = [];
  const colourOf = (o: SlotOwner): string => {
    const key = `${o.device} ${o.call}`;
    let c = colours.get(key);
    if (c === undefined) {
      c = PALETTE[colours.size % PALETTE.length];
      colours.set(key, c);
      legend.push({ colour: c, text: mappingWords(o, fmt) });
    }
    return c;
  };
  const rows = rowsOf(view);
  const one = view.segment !== null;
  const cw = one ? 2 * CELL_W : CELL_W;
  const ch = one ? 2 * CELL_H : CELL_H;
  const body: string[] = [];
  let y = TOP;
  let overlaps = 0;
  let orphans = 0;
  for (const row of rows) {
    if (row.kind === "fold") {
      const what = row.from === row.to ? `segment ${row.from}` : `segments ${row.from}–${row.to}`;
      body.push(el(
        "text",
        { class: "fold", x: LEFT, y: y + 10 },
        esc(`… ${what}: all ${SLOTS_PER_SEGMENT} slots free`),
      ));
      y += FOLD_H + ROW_GAP;
      continue;
    }
    const first = row.index * SLOTS_PER_SEGMENT;
    const slots = Math.min(SLOTS_PER_SEGMENT, view.nslabs - first);
    body.push(el("text", { class: "row", x: 8, y: y + 11 }, `seg ${row.index}`));
    body.push(el("rect", {
      class: "free",
      x: LEFT,
      y,
      width: slots * cw,
      height: ch,
    }));
    for (const r of view.runs) {
      if (!r.used || r.start + r.count <= first || r.start >= first + slots) continue;
      const s0 = Math.max(r.start, first);
      const s1 = Math.min(r.start + r.count, first + slots);
      body.push(usedRun(r, LEFT + (s0 - first) * cw, y, (s1 - s0) * cw, ch, colourOf));
      if (r.owners.length > 1) overlaps++;
      if (r.owners.length === 0) orphans++;
    }
    for (let k = 1; k < slots / 8; k++) {
      body.push(el("line", {
        x1: LEFT + k * 8 * cw,
        x2: LEFT + k * 8 * cw,
        y1: y + ch - 3,
        y2: y + ch,
        stroke: "#90a4ae",
        "stroke-width": 0.6,
      }));
    }
    if (view.hint >= first && view.hint < first + slots) {
      const x = LEFT + (view.hint - first) * cw;
      body.push(el(
        "path",
        { class: "hint", "data-hint": view.hint, d: `M${x},${y} l-4,-7 l8,0 z` },
        title(`hint (io_tlb_index) ${view.hint}: the next search starts here`),
      ));
    }
    if (one) {
      // Slot numbers under the strip, every 16 slots.
      for (let k = 0; k < slots; k += 16) {
        body.push(
          el("text", { class: "fold", x: LEFT + k * cw, y: y + ch + 11 }, String(first + k)),
        );
      }
      y += 12;
    }
    y += ch + ROW_GAP;
  }
  const notes: string[] = [];
  if (overlaps > 0) {
    notes.push(
      `${plural(overlaps, "run")} of slots held by two mappings at once (split colours: ` +
        "the later mapping is painted over the earlier one)",
    );
  }
  if (orphans > 0) {
    notes.push(`${plural(orphans, "run")} of used slots no live mapping explains (hatched)`);
  }
  // The drawing is as wide as a row of slots; longer legend lines and notes wrap, so a
  // long mapping (a released one names its unmap too) does not widen the page.
  const width = LEFT + SLOTS_PER_SEGMENT * cw + 10;
  const chars = Math.floor((width - LEFT - 16 - 8) / CHAR_W);
  y += 6;
  for (const l of legend) {
    const lines = wrap(l.text, chars);
    body.push(el(
      "g",
      { class: "legend" },
      el("rect", { x: LEFT, y, width: 10, height: 10, fill: l.colour }) +
        lines.map((t, k) => el("text", { x: LEFT + 16, y: y + 9 + k * 13 }, esc(t))).join(""),
    ));
    y += 15 + (lines.length - 1) * 13;
  }
  y += 4;
  for (const n of notes) {
    for (const t of wrap(n, chars + 2)) {
      body.push(el("text", { class: "bad", x: LEFT, y: y + 10 }, esc(t)));
      y += 15;
    }
  }
  y += 10;
  const heading = (view.segment === null ? "bounce pool" : `segment ${view.segment}`) +
    `: ${view.used} of ${view.segment === null ? view.nslabs : view.list.length} slots used, ` +
    `hint ${view.hint} (segment ${view.hintSegment})`;
  const defs = '<defs><pattern id="swl-hatch" width="4" height="4" ' +
    'patternUnits="userSpaceOnUse"><rect width="4" height="4" fill="#b0bec5"/>' +
    '<path d="M0,4 l4,-4" stroke="#37474f" stroke-width="1"/></pattern></defs>';
  return svgDoc("slots", width, y, heading, STYLE, [
    defs,
    el("text", { class: "head", x: 8, y: 20 }, esc(heading)),
    el(
      "text",
      { class: "fold", x: 8, y: 36 },
      "one row per segment (128 slots of 2 KiB); colour = the live mapping; ▼ = hint",
    ),
    ...body,
  ]);
}

/**
 * `text` in lines of at most `chars` characters, broken at spaces (a word longer than a
 * line is cut).
 */
function wrap(text: string, chars: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (let word of text.split(" ")) {
    while (word.length > chars) {
      if (line) lines.push(line);
      lines.push(word.slice(0, chars));
      word = word.slice(chars);
      line = "";
    }
    if (line && line.length + 1 + word.length > chars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A used run: one colour, split colours when two mappings claim it, hatched when none. */
function usedRun(
  r: SlotRun,
  x: number,
  y: number,
  width: number,
  height: number,
  colourOf: (o: SlotOwner) => string,
): string {
  const tip = title(
    `slots ${r.start}-${r.start + r.count - 1} used` +
      (r.owners.length === 0 ? ", no live mapping (debug off, or a flaw)" : ""),
  );
  if (r.owners.length === 0) {
    return el("rect", { class: "orphan", x, y, width, height }, tip);
  }
  const h = height / r.owners.length;
  return el(
    "g",
    { class: "used" },
    tip +
      r.owners.map((o, i) => el("rect", { x, y: y + i * h, width, height: h, fill: colourOf(o) }))
        .join(""),
  );
}
