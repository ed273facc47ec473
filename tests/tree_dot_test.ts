/**
 * `tree --dot` laid out by real Graphviz (@viz-js/viz, WASM: no system binary): the
 * output is valid DOT, every node and nil is drawn, and a lone right child lands to the
 * right of its parent (issue 12: it used to sit straight below, reading as a left one).
 */

import { assert, assertEquals } from "@std/assert";
import { instance } from "@viz-js/viz";
import { Guest } from "../mod.ts";
import { treeDot } from "../lib/repl/render/tree.ts";
import { all, parseSvg } from "./_dom.ts";

/** Node id → centre x of its drawn shape, from Graphviz's SVG. */
function centres(svg: string): Map<string, number> {
  const doc = parseSvg(svg);
  const out = new Map<string, number>();
  for (const g of all(doc, "g.node")) {
    const name = g.querySelector("title")!.textContent!;
    // The invisible middle children are drawn as nothing.
    if (name.endsWith("_m")) continue;
    const shape = g.querySelector("polygon, ellipse")!;
    if (shape.tagName.toLowerCase() === "ellipse") {
      out.set(name, Number(shape.getAttribute("cx")));
    } else {
      const xs = shape.getAttribute("points")!.trim().split(/\s+/).map((p) =>
        Number(p.split(",")[0])
      );
      out.set(name, (Math.min(...xs) + Math.max(...xs)) / 2);
    }
  }
  return out;
}

Deno.test("treeDot: Graphviz draws a lone right child to the right of its parent", async () => {
  const viz = await instance();
  // Two segments: the second insert is the root's red right child, with no left sibling.
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 256 });
  const rows = g.tree().preorder;
  assertEquals(rows.map((r) => r.path), ["root", "root/r"]);
  const x = centres(viz.renderString(treeDot(rows), { format: "svg" }));
  assert(
    x.get("root_r")! > x.get("root")! + 10,
    `root/r at ${x.get("root_r")}, root at ${x.get("root")}`,
  );
  assert(x.get("root_l")! < x.get("root")!, "the nil on the left is left");
});

Deno.test("treeDot: every node and every nil of the default pool's tree is laid out", async () => {
  const viz = await instance();
  const rows = Guest.create({ preset: "arm-dom0" }).tree().preorder;
  const x = centres(viz.renderString(treeDot(rows), { format: "svg" }));
  assertEquals(x.size, rows.length * 2 + 1);
  // In-order is left to right: the children of each node straddle it.
  for (const r of rows) {
    const id = r.path.replaceAll("/", "_");
    assert(x.get(`${id}_l`)! < x.get(id)! && x.get(id)! < x.get(`${id}_r`)!, r.path);
  }
});
