/**
 * The fixup as a timeline (issue 12): one chart per pass of the init retry loop (SPEC §5
 * step 4), every xen_create_contiguous_region call left to right, its dma_bits up the
 * side (18 → 32; it only grows, SPEC §5 step 3), a green dot for a region made, grey for
 * Xen's refusal, a red cross for an injected fault, and a red ring where the tree refused
 * the new segment (PVH's duplicate bus 0). The tries are the engine's
 * ({@link InitAttemptView}); this file only places them.
 *
 * @module
 */

import type { FixupTry, InitAttemptView, InitView } from "../../../guest/mod.ts";
import { type Fmt, plural } from "../format.ts";
import { el, esc, svgDoc, title } from "./_xml.ts";

/** Scaled to 3/4 (the report's floor), this fits the column of an 800 px window. */
const WIDTH = 960;
const LEFT = 56;
const RIGHT = 20;
const CHART_H = 120;
const CHART_GAP = 66;
const TOP = 34;
const BITS_LO = 18;
const BITS_HI = 32;

const STYLE = [
  ".ok{fill:#2e7d32}.fail{fill:#9e9e9e}.injected{stroke:#c62828;stroke-width:2}",
  ".refused{fill:none;stroke:#c62828;stroke-width:2}.step{fill:none;stroke:#1565c0;stroke-width:1}",
  ".grid{stroke:#eceff1}.axis{fill:#616161;font-size:9px}.head{font-size:13px;font-weight:bold}",
  ".sub{font-weight:bold}.bad{fill:#c62828}.band{fill:#f5f5f5}",
].join("");

function tryWords(t: FixupTry, fmt: Fmt): string {
  const what = t.ok
    ? `region made at bus ${fmt.num(t.dmaAddr ?? 0)}` +
      (t.inserted === false ? ", but xen_dma_add_entry refused it (-22)" : "")
    : t.injected
    ? "failed (injected fault)"
    : "failed (Xen had no such memory)";
  return `segment ${t.segment}, dma_bits ${t.dmaBits}: ${what}`;
}

function attemptWords(a: InitAttemptView, k: number, fmt: Fmt): string {
  const where = a.poolPhys === null ? "no pool" : `pool at phys ${fmt.num(a.poolPhys)}`;
  const end = a.failure === null
    ? "ok"
    : a.failure === "enomem"
    ? "failed: no memory for the pool"
    : "failed: fixup";
  return `attempt ${k + 1}: ${a.nslabs} slots, ${where}, ${
    plural(a.tries.length, "exchange")
  } — ${end}`;
}

/**
 * The fixup of every init attempt of `init` as one SVG document.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Guest } from "../../../../mod.ts";
 * import { Fmt } from "../format.ts";
 * import { fixupSvg } from "./fixup.ts";
 * const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
 * const svg = fixupSvg(g.init, new Fmt());
 * // One attempt; its four segments each took the tries the engine recorded.
 * const tries = g.init.attempts[0].tries;
 * assertEquals(svg.match(/class="try /g)?.length, tries.length);
 * assertEquals(svg.match(/class="try ok"/g)?.length, 4);
 * ```
 */
export function fixupSvg(init: InitView, fmt: Fmt): string {
  const attempts = init.attempts;
  const body: string[] = [];
  const inner = WIDTH - LEFT - RIGHT;
  const yOf = (bits: number, top: number) =>
    top + CHART_H - (bits - BITS_LO) / (BITS_HI - BITS_LO) * CHART_H;
  attempts.forEach((a, k) => {
    const top = TOP + 24 + k * (CHART_H + CHART_GAP);
    body.push(el(
      "text",
      { class: a.failure === null ? "sub" : "sub bad", x: LEFT, y: top - 10 },
      esc(attemptWords(a, k, fmt)),
    ));
    for (const bits of [18, 22, 26, 32]) {
      const y = yOf(bits, top);
      body.push(el("line", { class: "grid", x1: LEFT, x2: LEFT + inner, y1: y, y2: y }));
      body.push(
        el("text", { class: "axis", x: LEFT - 6, y: y + 3, "text-anchor": "end" }, `${bits}`),
      );
    }
    const n = Math.max(1, a.tries.length);
    const dx = Math.min(24, inner / n);
    const xOf = (i: number) => LEFT + (i + 0.5) * dx;
    // Alternate bands mark the segments, so a run of tries on one segment reads as one.
    let bandStart = 0;
    a.tries.forEach((t, i) => {
      const next = a.tries[i + 1];
      if (next === undefined || next.segment !== t.segment) {
        if (t.segment % 2 === 1) {
          body.push(el("rect", {
            class: "band",
            x: LEFT + bandStart * dx,
            y: top,
            width: (i + 1 - bandStart) * dx,
            height: CHART_H,
          }));
        }
        bandStart = i + 1;
      }
    });
    if (a.tries.length > 0) {
      const d = a.tries.map((t, i) =>
        `${i === 0 ? "M" : "L"}${xOf(i).toFixed(1)},${yOf(t.dmaBits, top).toFixed(1)}`
      )
        .join(" ");
      body.push(el("path", { class: "step", d }));
    }
    const r = Math.max(1.5, Math.min(4, dx / 2.5));
    a.tries.forEach((t, i) => {
      const x = xOf(i);
      const y = yOf(t.dmaBits, top);
      const tip = title(tryWords(t, fmt));
      if (t.injected) {
        body.push(el(
          "path",
          {
            class: "try injected",
            d: `M${x - r},${y - r} L${x + r},${y + r} M${x - r},${y + r} L${x + r},${y - r}`,
          },
          tip,
        ));
      } else {
        body.push(el("circle", { class: t.ok ? "try ok" : "try fail", cx: x, cy: y, r }, tip));
      }
      if (t.inserted === false) {
        body.push(
          el(
            "circle",
            { class: "refused", "data-segment": t.segment, cx: x, cy: y, r: r + 4 },
            tip,
          ),
        );
        body.push(el(
          "text",
          { class: "axis bad", x: LEFT, y: top + CHART_H + 28 },
          esc(
            `segment ${t.segment}: xen_dma_add_entry refused it (bus ${
              fmt.num(t.dmaAddr ?? 0)
            } is already in the tree) → -22`,
          ),
        ));
      }
    });
    const first = a.tries[0]?.segment ?? 0;
    const last = a.tries[a.tries.length - 1]?.segment ?? 0;
    // Two labels when there is room between them, else one for the whole run.
    const room = a.tries.length > 0 ? xOf(a.tries.length - 1) - LEFT : 0;
    if (room > 140 && last !== first) {
      body.push(el("text", { class: "axis", x: LEFT, y: top + CHART_H + 14 }, `segment ${first}`));
      body.push(el(
        "text",
        { class: "axis", x: xOf(a.tries.length - 1), y: top + CHART_H + 14, "text-anchor": "end" },
        `segment ${last}`,
      ));
    } else {
      body.push(el(
        "text",
        { class: "axis", x: LEFT, y: top + CHART_H + 14 },
        last === first ? `segment ${first}` : `segments ${first}–${last}`,
      ));
    }
  });
  const heading = attempts.length === 0
    ? "no fixup: this guest does not run swiotlb-xen"
    : `swiotlb-xen fixup: ${plural(attempts.length, "attempt")}, dma_bits per exchange` +
      (init.ok ? "" : init.panic !== null ? " — kernel panic" : " — init failed");
  const height = TOP + 24 + attempts.length * (CHART_H + CHART_GAP);
  return svgDoc("fixup", WIDTH, height, heading, STYLE, [
    el("text", { class: "head", x: 8, y: 20 }, esc(heading)),
    el("circle", { class: "ok", cx: 12, cy: 31, r: 3 }),
    el("text", { class: "axis", x: 18, y: 34 }, "region made"),
    el("circle", { class: "fail", cx: 96, cy: 31, r: 3 }),
    el("text", { class: "axis", x: 102, y: 34 }, "Xen refused (dma_bits grows)"),
    el("path", { class: "injected", d: "M263,28 l6,6 M263,34 l6,-6" }),
    el("text", { class: "axis", x: 274, y: 34 }, "injected fault"),
    el("circle", { class: "refused", cx: 368, cy: 31, r: 5 }),
    el("text", { class: "axis", x: 377, y: 34 }, "the tree refused the segment"),
    ...body,
  ]);
}
