/**
 * The SVG drawings (issue 12), parsed as XML: one element per tree node and nil leaf,
 * per segment in each lane, per used slot run, per fixup try — each carrying what the
 * engine's view says — plus a snapshot of a small tree and a readability check of the
 * default 256-segment tree.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { Guest } from "../mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";
import { Fmt } from "../lib/repl/render/format.ts";
import { fixupSvg } from "../lib/repl/render/svg/fixup.ts";
import { segmentsSvg } from "../lib/repl/render/svg/segments.ts";
import { slotsSvg } from "../lib/repl/render/svg/slots.ts";
import { treeSvg } from "../lib/repl/render/svg/tree.ts";
import { all, parseSvg } from "./_dom.ts";

const fmt = new Fmt();

function session(lines: string[]): Session {
  const s = new Session();
  for (const l of lines) {
    const r = runLine(s, l);
    assert(r.ok, `${l}: ${r.error}`);
  }
  return s;
}

Deno.test("treeSvg: one box per node with its colour, kind and position, a nil per missing child", () => {
  const s = session([
    "guest new --preset arm-dom0 --swiotlb 1M",
    "device add nic --mask 32",
    "alloc-coherent nic 5000",
  ]);
  const view = s.guest!.tree();
  const doc = parseSvg(treeSvg(view, fmt));
  const nodes = all(doc, "g.node");
  assertEquals(nodes.length, view.preorder.length);
  for (const r of view.preorder) {
    const g = doc.querySelector(`g.node[data-path="${r.path}"]`)!;
    assert(g !== null, r.path);
    assert(g.classList.contains(r.color), `${r.path} is ${r.color}`);
    assert(g.classList.contains(r.kind), `${r.path} is ${r.kind}`);
    assertStringIncludes(g.textContent ?? "", fmt.num(r.dmaAddr));
    assertStringIncludes(g.textContent ?? "", `phys ${fmt.num(r.physAddr)}`);
  }
  // A binary tree of n nodes has n + 1 nil leaves, each under a node that lacks that child.
  const nils = all(doc, "g.nil").map((n) => n.getAttribute("data-path")!);
  assertEquals(nils.length, view.preorder.length + 1);
  const paths = new Set(view.preorder.map((r) => r.path));
  for (const p of nils) {
    assert(!paths.has(p), p);
    assert(paths.has(p.slice(0, p.lastIndexOf("/"))), `${p} hangs under a node`);
  }
  assertEquals(all(doc, "g.coherent").length, 1);
});

Deno.test("treeSvg: a lookup's visited path is highlighted and numbered; a miss ends on a nil", () => {
  const s = session(["guest new --preset arm-dom0 --swiotlb 1M"]);
  const g = s.guest!;
  const hit = g.lookupBus(0x100800);
  const doc = parseSvg(treeSvg(g.tree(), fmt, { lookup: hit }));
  const marked = all(doc, "g.visited, g.hit").map((e) => e.getAttribute("data-path"));
  assertEquals(marked.sort(), hit.visited.map((v) => v.path).sort());
  assertEquals(all(doc, "g.hit").length, 1);
  assertEquals(doc.querySelector("g.hit")!.getAttribute("data-path"), hit.node!.path);
  assertEquals(all(doc, "g.step").length, hit.visited.length);
  const miss = g.lookupBus(0x7000000);
  assert(!miss.found);
  const d2 = parseSvg(treeSvg(g.tree(), fmt, { lookup: miss }));
  const last = miss.visited[miss.visited.length - 1];
  assertEquals(
    d2.querySelector("g.nil.miss")!.getAttribute("data-path"),
    `${last.path}/${last.cmp === "left" ? "l" : "r"}`,
  );
  assertEquals(all(d2, "g.hit").length, 0);
});

Deno.test("treeSvg: a snapshot of a four-segment tree", () => {
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 512 });
  const svg = treeSvg(g.tree(), fmt);
  const golden = fromFileUrl(new URL("./golden/tree_small.svg", import.meta.url));
  if (Deno.env.get("UPDATE_GOLDEN")) Deno.writeTextFileSync(golden, svg);
  assertEquals(svg, Deno.readTextFileSync(golden));
});

Deno.test("treeSvg: the default 256-segment tree is readable — no two boxes overlap, text fits", () => {
  const g = Guest.create({ preset: "arm-dom0" });
  const doc = parseSvg(treeSvg(g.tree(), fmt));
  const boxes = all(doc, "g.node > rect, g.nil > rect").map((r) => ({
    x: Number(r.getAttribute("x")),
    y: Number(r.getAttribute("y")),
    w: Number(r.getAttribute("width")),
    h: Number(r.getAttribute("height")),
  }));
  assertEquals(boxes.length, 256 + 257);
  // Sorted by x then y, a box can only overlap the ones in its own column.
  const byColumn = Map.groupBy(boxes, (b) => b.x);
  for (const column of byColumn.values()) {
    column.sort((a, b) => a.y - b.y);
    for (let i = 1; i < column.length; i++) {
      assert(column[i].y >= column[i - 1].y + column[i - 1].h, "boxes overlap");
    }
  }
  // 11 px monospace is about 6.6 px a character: every label fits inside its box.
  for (const g of all(doc, "g.node")) {
    const width = Number(g.querySelector("rect")!.getAttribute("width"));
    for (const t of all(g, ":scope > text")) {
      assert((t.textContent ?? "").length * 6.6 <= width - 8, t.textContent ?? "");
    }
  }
});

Deno.test("segmentsSvg: a box per segment in each lane, orange where the bus base is misaligned", () => {
  const g = Guest.create({ preset: "arm-dom0", swiotlb: 1024, busSkew: 4096 });
  const view = g.segments();
  const doc = parseSvg(segmentsSvg(view, fmt, "rfc"));
  for (const lane of ["phys", "bus"]) {
    assertEquals(all(doc, `g[data-lane="${lane}"]`).length, view.rows.length);
  }
  const orange = all(doc, `g.misaligned[data-lane="bus"]`).map((e) =>
    Number(e.getAttribute("data-segment"))
  );
  assertEquals(orange, view.misaligned);
  assert(view.misaligned.length > 0);
  assertEquals(all(doc, "line.link").length, view.rows.length);
});

Deno.test("segmentsSvg: rfc-v1 with an unaligned pool draws a red line per mistranslated segment", () => {
  const v1 = Guest.create({
    preset: "arm-dom0",
    variant: "rfc-v1",
    poolOffset: 4096,
    swiotlb: 1024,
  });
  const view = v1.segments();
  assertEquals(view.mistranslated.length, view.rows.length);
  const doc = parseSvg(segmentsSvg(view, fmt, "rfc-v1"));
  assertEquals(all(doc, "line.wrong").length, view.rows.length);
  // The same pool under rfc translates every first byte to its bus base: no red line.
  const rfc = Guest.create({ preset: "arm-dom0", variant: "rfc", poolOffset: 4096, swiotlb: 1024 });
  assertEquals(rfc.segments().mistranslated, []);
  assertEquals(all(parseSvg(segmentsSvg(rfc.segments(), fmt, "rfc")), "line.wrong").length, 0);
});

Deno.test("slotsSvg: a coloured run per mapping, the hint marked, free segments folded", () => {
  const s = session([
    "guest new --preset arm-dom0",
    "device add nic --mask 32",
    "device add disk --mask 32",
    "buf alloc a 64K",
    "map nic a 64K to",
    "map disk a 16K from",
  ]);
  const view = s.guest!.slots();
  const doc = parseSvg(slotsSvg(view, fmt));
  assertEquals(all(doc, "g.used").length, view.runs.filter((r) => r.used).length);
  assertEquals(all(doc, "g.legend").length, 2);
  assertEquals(doc.querySelector("[data-hint]")!.getAttribute("data-hint"), String(view.hint));
  assertStringIncludes(
    doc.querySelector("svg")!.textContent ?? "",
    "segments 1–255: all 128 slots free",
  );
});

Deno.test("slotsSvg: after the double-unmap flaw, the later mapping is painted over its victim", () => {
  const s = session([
    "guest new --preset arm-dom0 --swiotlb 256K --policy faithful",
    "device add nic --mask 32",
    "buf alloc a 8K",
    "buf alloc pad 248K",
    "buf alloc b 4K",
    "buf alloc c 8K",
    "map nic a 8K to",
    "map nic pad 248K to",
    "unmap nic 0x100000 8K to",
    "map nic b 4K to",
    "unmap nic 0x100000 8K to",
    "map nic c 8K from",
  ]);
  const view = s.guest!.slots(0);
  // B (slots 0-1) was released by A's second unmap, never by its driver; C took 0-3.
  const split = view.runs.find((r) => r.owners.length === 2)!;
  assertEquals([split.start, split.count], [0, 2]);
  assertStringIncludes(split.owners[0].releasedBy!, "dma_unmap_single(nic, 0x100000, 8192");
  assertEquals(split.owners[1].releasedBy, null);
  const doc = parseSvg(slotsSvg(view, fmt));
  const painted = all(doc, "g.used").filter((g) => g.querySelectorAll("rect").length === 2);
  assertEquals(painted.length, 1);
  assertStringIncludes(doc.querySelector("svg")!.textContent ?? "", "painted over");
  // The whole pool's drawing is as wide as a row of slots: the released mapping's long
  // legend line wraps (onto two lines) instead of running past the right edge.
  const pool = parseSvg(slotsSvg(s.guest!.slots(), fmt));
  const width = Number(pool.querySelector("svg")!.getAttribute("width"));
  assertEquals(width, 74 + 128 * 7 + 10);
  const released = all(pool, "g.legend").find((g) =>
    (g.textContent ?? "").includes("released by")
  )!;
  const lines = all(released, "text").map((t) => t.textContent ?? "");
  assertEquals(lines.length, 2);
  assert(lines[1].endsWith("never unmapped"), lines[1]);
  for (const t of all(pool, "g.legend text, text.bad")) {
    const right = Number(t.getAttribute("x")) + (t.textContent ?? "").length * 6.6;
    assert(right <= width, `${t.textContent} ends at ${right} px of ${width}`);
  }
});

Deno.test("fixupSvg: a mark per exchange; PVH's refused inserts are ringed", () => {
  const arm = Guest.create({ preset: "arm-dom0", swiotlb: 2048 });
  const tries = arm.init.attempts.flatMap((a) => a.tries);
  const doc = parseSvg(fixupSvg(arm.init, fmt));
  assertEquals(all(doc, ".try").length, tries.length);
  assertEquals(all(doc, ".try.ok").length, tries.filter((t) => t.ok).length);
  assertEquals(all(doc, ".try.fail").length, tries.filter((t) => !t.ok).length);
  const pvh = Guest.create({ preset: "pvh-dom0" });
  assertEquals(pvh.init.attempts.length, 4);
  const refused = pvh.init.attempts.flatMap((a) => a.tries).filter((t) => t.inserted === false);
  // Every attempt's second segment also lands at bus 0, which segment 0 holds.
  assertEquals(refused.map((t) => [t.segment, t.dmaAddr]), [[1, 0], [1, 0], [1, 0], [1, 0]]);
  assertEquals(all(parseSvg(fixupSvg(pvh.init, fmt)), "circle.refused[data-segment]").length, 4);
});

Deno.test("--svg on tree, lookup bus, segments, slots and guest show writes the drawing", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_svg_" });
  try {
    const s = new Session({ cwd: dir, json: true });
    for (const l of ["guest new --preset arm-dom0 --swiotlb 1M", "device add nic --mask 32"]) {
      runLine(s, l);
    }
    const lines = [
      "tree --svg t.svg",
      "lookup bus 0x100800 --svg l.svg",
      "segments --svg s.svg",
      "slots --svg sl.svg",
      "guest show --svg f.svg",
    ];
    for (const l of lines) {
      const r = runLine(s, l);
      assert(r.ok, `${l}: ${r.error}`);
      const file = l.split(" ").at(-1)!;
      assertEquals(r.json?.svg, file);
      parseSvg(Deno.readTextFileSync(`${dir}/${file}`));
    }
    const bad = runLine(s, "tree --svg no/such/dir/t.svg");
    assertEquals(bad.ok, false);
    assertStringIncludes(bad.error!, "no directory");
    const iommu = new Session({ cwd: dir });
    runLine(iommu, "guest new --preset arm-dom0-smmu");
    const none = runLine(iommu, "tree --svg x.svg");
    assertStringIncludes(none.error!, "No tree to write");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("treeSvg: the validator's problems are listed and their nodes outlined, with a lookup too", () => {
  const s = session([
    "guest new --preset arm-dom0 --swiotlb 1M --policy faithful",
    "tree insert 0x120000 0x1a0000000 256K",
  ]);
  const view = s.guest!.tree();
  assert(view.problems.length > 0);
  for (const opts of [{}, { lookup: s.guest!.lookupBus(0x130000) }]) {
    const doc = parseSvg(treeSvg(view, fmt, opts));
    const marked = all(doc, "g.node.problem").map((g) => g.getAttribute("data-path")).sort();
    assertEquals(marked, [...new Set(view.problems.map((p) => p.path))].sort());
    const head = doc.querySelector("text.head")!.textContent ?? "";
    assertStringIncludes(head, "INVALID");
  }
});
