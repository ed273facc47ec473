/**
 * `tree --svg`: the bus→phys red-black tree as a drawing (issue 12). The root is on the
 * left and each level one column to the right, so 256 segments stay readable as a page
 * that scrolls down; a left child is drawn above its parent's line and a right child
 * below, and every missing child is a small black nil leaf, so a lone child's side is
 * never in doubt. The tidy layout is d3-hierarchy's; the shape, colours and kinds come
 * from the engine's {@link TreeView} rows, and a lookup's visited path and comparisons
 * from its {@link BusLookupView}.
 *
 * @module
 */

// @ts-types="npm:@types/d3-hierarchy@3.1.7"
import { hierarchy, type HierarchyPointNode, tree as tidyTree } from "d3-hierarchy";
import type { BusLookupView, TreeRow, TreeView } from "../../../guest/mod.ts";
import { type Fmt, plural, sizeArg } from "../format.ts";
import { comparisonWords } from "../inspect.ts";
import { problemLine } from "../tree.ts";
import { el, esc, svgDoc, title } from "./_xml.ts";

/** One place in the drawing: a node of the engine's tree, or a nil leaf under one. */
interface Place {
  path: string;
  row: TreeRow | null;
  children: Place[];
}

/** The narrowest node box; wider when a label needs it (about 6.6 px a character). */
const MIN_NODE_W = 150;
const NODE_H = 34;
const NIL_W = 12;
const NIL_H = 9;
/** Room between a node's right edge and its children's column, for the edges. */
const EDGE_ROOM = 46;
const GAP = 6;
const MARGIN = 16;
/** Room above the drawing for the heading and the lookup's question. */
const HEAD = 40;

const STYLE = [
  ".red rect{fill:#c62828}.black rect{fill:#212121}",
  ".node text{fill:#fff}.nil rect{fill:#212121}",
  ".coherent rect,.manual rect{stroke:#f9a825;stroke-width:3;stroke-dasharray:6 3}",
  ".edge{fill:none;stroke:#9e9e9e;stroke-width:1.2}",
  ".visited rect{stroke:#1e88e5;stroke-width:4}.hit rect{stroke:#2e7d32;stroke-width:5}",
  ".edge.visited{stroke:#1e88e5;stroke-width:3}.miss rect{stroke:#1e88e5;stroke-width:3}",
  ".step circle{fill:#1e88e5}.step text{fill:#fff;font-size:9px;font-weight:bold}",
  ".steps{fill:#0d47a1}.head{font-size:13px;font-weight:bold}",
  ".side{fill:#757575;font-size:9px}",
  ".problem rect{stroke:#d50000;stroke-width:4;stroke-dasharray:3 2}",
].join("");

/** What `tree --svg` can add to the plain drawing. */
export interface TreeSvgOptions {
  /** `lookup bus A --svg`: highlight the walk and write each comparison by its node. */
  lookup?: BusLookupView;
}

/** Builds the place tree (with nil leaves) from the preorder rows' position paths. */
function places(rows: readonly TreeRow[]): Place {
  const byPath = new Map<string, TreeRow>();
  for (const r of rows) byPath.set(r.path, r);
  const build = (path: string): Place => {
    const row = byPath.get(path) ?? null;
    return {
      path,
      row,
      children: row ? [build(`${path}/l`), build(`${path}/r`)] : [],
    };
  };
  return build("root");
}

function height(p: Place): number {
  return p.row ? NODE_H : NIL_H;
}

/**
 * The tree of `view` as one SVG document.
 *
 * @example
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { Guest } from "../../../../mod.ts";
 * import { Fmt } from "../format.ts";
 * import { treeSvg } from "./tree.ts";
 * const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
 * const svg = treeSvg(g.tree(), new Fmt());
 * // Four segments: four nodes and five nil leaves.
 * assertEquals(svg.match(/class="node /g)?.length, 4);
 * assertEquals(svg.match(/class="nil"/g)?.length, 5);
 * assert(svg.startsWith("<svg"));
 * ```
 */
export function treeSvg(view: TreeView, fmt: Fmt, opts: TreeSvgOptions = {}): string {
  const root = hierarchy(places(view.preorder));
  const longest = Math.max(0, ...view.preorder.flatMap((r) => labels(r, fmt).map((l) => l.length)));
  const nodeW = Math.max(MIN_NODE_W, Math.ceil(longest * 6.6) + 14);
  const layout = tidyTree<Place>()
    .nodeSize([1, nodeW + EDGE_ROOM])
    .separation((a, b) => (height(a.data) + height(b.data)) / 2 + GAP);
  const laid = layout(root);
  let top = Infinity;
  let bottom = -Infinity;
  let right = 0;
  laid.each((n) => {
    top = Math.min(top, n.x - height(n.data) / 2);
    bottom = Math.max(bottom, n.x + height(n.data) / 2);
    right = Math.max(right, n.y + (n.data.row ? nodeW : NIL_W));
  });
  const lookup = opts.lookup;
  // Each visited node carries its step number; the comparisons are listed under the heading.
  const onPath = new Map<string, { step: number; hit: boolean }>();
  const steps: string[] = [];
  if (lookup) {
    const addr = fmt.num(lookup.bus);
    lookup.visited.forEach((v, i) => {
      onPath.set(v.path, { step: i + 1, hit: v.cmp === "hit" });
      steps.push(
        `${i + 1}. ${v.path} ${fmt.interval(v.dmaAddr, v.size)}: ` +
          comparisonWords(v, addr, fmt),
      );
    });
    if (!lookup.found) steps.push(`${steps.length + 1}. nil: not found, the error value`);
  }
  // The validator's findings, each at the node it names (outlined red).
  const broken = new Set(view.problems.map((p) => p.path));
  for (const p of view.problems) {
    steps.push(`✗ ${problemLine(p, fmt)}`);
  }
  const head = HEAD + steps.length * 14;
  const missAt = lookup && !lookup.found && lookup.visited.length > 0
    ? missPath(lookup)
    : undefined;
  // Tree x runs down the page, tree y across it.
  const dy = head + 10 - top;
  const at = (n: HierarchyPointNode<Place>) => ({ x: MARGIN + n.y, y: dy + n.x });
  const edges: string[] = [];
  const nodes: string[] = [];
  for (const n of laid.descendants()) {
    const p = at(n);
    if (n.parent) {
      const q = at(n.parent);
      const x0 = q.x + nodeW;
      const visited = onPath.has(n.data.path) || n.data.path === missAt;
      edges.push(el("path", {
        class: visited ? "edge visited" : "edge",
        d: `M${r1(x0)},${r1(q.y)} C${r1(x0 + 24)},${r1(q.y)} ${r1(p.x - 24)},${r1(p.y)} ` +
          `${r1(p.x)},${r1(p.y)}`,
      }));
      const side = n.data.path.endsWith("/l") ? "l" : "r";
      edges.push(el("text", { class: "side", x: p.x - 10, y: p.y - 3 }, side));
    }
    nodes.push(
      n.data.row
        ? nodeBox(n.data.row, p, nodeW, fmt, onPath, broken.has(n.data.path))
        : nilBox(n.data.path, p, missAt),
    );
  }
  const heading = lookup
    ? `lookup bus ${fmt.num(lookup.bus)}: ` +
      (lookup.found
        ? `found in ${plural(lookup.visited.length, "step")} → phys ${fmt.num(lookup.phys)}`
        : `not found after ${plural(lookup.visited.length, "step")} → the error value`) +
      (view.problems.length ? ` — tree INVALID (${plural(view.problems.length, "problem")})` : "")
    : `bus→phys tree: ${plural(view.nodes, "node")}, height ${view.height}, ` +
      (view.problems.length ? `INVALID (${plural(view.problems.length, "problem")})` : "valid");
  // Wide enough for the heading and the walk's lines too (about 7.5 px a character).
  const text = Math.max(heading.length, ...steps.map((t) => t.length), 75);
  const width = Math.max(MARGIN * 2 + right, MARGIN * 2 + text * 7.5);
  const h = dy + bottom + MARGIN;
  return svgDoc("tree", width, h, heading, STYLE, [
    el("text", { class: "head", x: MARGIN, y: 20 }, esc(heading)),
    el(
      "text",
      { class: "side", x: MARGIN, y: 34 },
      esc("red/black as in the kernel; left child above, right child below; ■ = nil"),
    ),
    ...steps.map((t, i) => el("text", { class: "steps", x: MARGIN, y: HEAD + 8 + i * 14 }, esc(t))),
    ...edges,
    ...nodes,
  ]);
}

/** Where a missed lookup fell off the tree: the nil below its last comparison. */
function missPath(lookup: BusLookupView): string {
  const last = lookup.visited[lookup.visited.length - 1];
  return `${last.path}/${last.cmp === "left" ? "l" : "r"}`;
}

function r1(x: number): number {
  return Math.round(x * 10) / 10;
}

function nodeBox(
  r: TreeRow,
  p: { x: number; y: number },
  nodeW: number,
  fmt: Fmt,
  onPath: ReadonlyMap<string, { step: number; hit: boolean }>,
  broken: boolean,
): string {
  const step = onPath.get(r.path);
  const classes = ["node", r.color, r.kind];
  if (step !== undefined) classes.push(step.hit ? "hit" : "visited");
  if (broken) classes.push("problem");
  const [interval, second] = labels(r, fmt);
  const tip = `${r.color} ${interval} phys ${fmt.num(r.physAddr)} ${r.kind} at ${r.path}` +
    (r.slotsInUse === null ? "" : `, ${r.slotsInUse} slots in use`);
  const body = [
    title(tip),
    el("rect", { x: p.x, y: p.y - NODE_H / 2, width: nodeW, height: NODE_H, rx: 4 }),
    el("text", { x: p.x + 6, y: p.y - 3 }, esc(interval)),
    el("text", { x: p.x + 6, y: p.y + 11 }, esc(second)),
  ];
  if (step !== undefined) {
    body.push(el(
      "g",
      { class: "step" },
      el("circle", { cx: p.x + nodeW, cy: p.y - NODE_H / 2, r: 8 }) +
        el(
          "text",
          { x: p.x + nodeW, y: p.y - NODE_H / 2 + 3, "text-anchor": "middle" },
          String(step.step),
        ),
    ));
  }
  return el("g", { class: classes.join(" "), "data-path": r.path }, body.join(""));
}

/** A node's two lines: its bus interval, then its phys (and segment index). */
function labels(r: TreeRow, fmt: Fmt): [string, string] {
  return [
    `[${fmt.num(r.dmaAddr)},+${sizeArg(r.size)})`,
    `phys ${fmt.num(r.physAddr)}` + (r.segment === null ? `  ${r.kind}` : `  seg ${r.segment}`),
  ];
}

function nilBox(path: string, p: { x: number; y: number }, missAt: string | undefined): string {
  const miss = path === missAt;
  return el(
    "g",
    { class: miss ? "nil miss" : "nil", "data-path": path },
    title(miss ? `nil at ${path}: the walk ends here (not found)` : `nil at ${path}`) +
      el("rect", { x: p.x, y: p.y - NIL_H / 2, width: NIL_W, height: NIL_H }),
  );
}
