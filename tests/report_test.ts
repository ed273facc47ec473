/**
 * `report FILE.html` and `repl.ts --script FILE --report OUT.html` (issue 12), parsed as
 * HTML: every section, the drawings inline, nothing fetched from anywhere, and the
 * session's commands with their answers and a ✓/✗ per expect.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { guestFileOf } from "../lib/guest/mod.ts";
import { runLine, Session } from "../lib/repl/mod.ts";
import { MAX_TRANSCRIPT } from "../lib/repl/transcript.ts";
import { all, parseHtml } from "./_dom.ts";

const root = fromFileUrl(new URL("../", import.meta.url));

const LINES = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
  "map nic rx 8K to",
  "expect bounced",
  "expect slot 3",
  "lookup bus $bus+0x10",
  "unmap nic $bus 4K to",
  'expect error "different size"',
];

function withDir(f: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_report_" });
  try {
    f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("report: one self-contained page with every section, drawing and command", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir, keepGoing: true });
    for (const l of LINES) runLine(s, l);
    const r = runLine(s, "report out.html");
    assert(r.ok, r.error);
    const html = Deno.readTextFileSync(`${dir}/out.html`);
    const doc = parseHtml(html);
    for (const id of ["guest", "init", "segments", "tree", "slots", "stats", "events", "session"]) {
      assert(doc.querySelector(`section#${id}`), `section ${id}`);
    }
    const g = s.guest!;
    assertEquals(all(doc, "svg.swl-tree g.node").length, g.tree().preorder.length);
    assertEquals(all(doc, `svg.swl-segments g[data-lane="phys"]`).length, g.segments().rows.length);
    assertEquals(all(doc, "svg.swl-slots g.used").length, 1);
    assertEquals(all(doc, "svg.swl-fixup .try").length, g.init.attempts[0].tries.length);
    // The last lookup is drawn on the tree.
    assertEquals(all(doc, "svg.swl-tree g.hit").length, 1);
    // Self-contained: no script, nothing loaded from a URL, only in-page links.
    assertEquals(all(doc, "script").length, 0);
    for (const e of all(doc, "[src], link[href]")) {
      const url = e.getAttribute("src") ?? e.getAttribute("href") ?? "";
      assert(url.startsWith("data:"), url);
    }
    for (const a of all(doc, "a[href]")) assert(a.getAttribute("href")!.startsWith("#"));
    assertStringIncludes(html, "Content-Security-Policy");
    // Every command, with ✓/✗ for the expects: slot 3 is wrong (the map took slot 0).
    const items = all(doc, "li.cmd");
    assertEquals(items.length, LINES.length);
    assertEquals(items.map((i) => i.getAttribute("data-verdict")), [
      "ok",
      "ok",
      "ok",
      "ok",
      "pass",
      "fail",
      "ok",
      "expected-error",
      "pass",
    ]);
    assertStringIncludes(items[5].textContent ?? "", "expected slot 3, actual slot 0");
    // The DMA-API report of the wrong-size unmap, as the kernel prints it.
    assertStringIncludes(
      doc.querySelector("section#events")!.textContent ?? "",
      "DMA-API: device driver frees DMA memory with different size",
    );
    assertStringIncludes(doc.querySelector("p.summary")!.textContent ?? "", "2 ✓, 1 ✗");
  });
});

Deno.test("report: the settings table says what a guest file would — its snake_case keys and values", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir });
    const lines = [
      "guest new --preset arm-dom0 --swiotlb 1M --bus-skew 4K --pool-offset 8K --fail-exchanges 2",
      "report r.html",
    ];
    for (const l of lines) assert(runLine(s, l).ok, l);
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    const cells = all(doc, "table.config td").map((td) => td.textContent ?? "");
    const table = new Map<string, string>();
    for (let i = 0; i < cells.length; i += 2) table.set(cells[i], cells[i + 1]);
    assertEquals([...table.keys()], Object.keys(guestFileOf(s.guest!.config)));
    for (const [k, v] of [["bus_skew", "4K"], ["pool_offset", "8K"], ["late_init", "false"]]) {
      assertEquals(table.get(k), v, k);
    }
    assertEquals(table.get("fail_exchanges"), "2");
    assertEquals(table.get("mem"), "2G");
    // No engine-side names: camelCase keys, the faults object, the preset's name.
    for (const k of table.keys()) assert(/^[a-z0-9_]+$/.test(k), k);
    for (const k of ["faults", "name", "busSkew"]) assert(!table.has(k), k);
  });
});

Deno.test("report: clear errors for a wrong name or place; a session without a guest still reports", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir });
    const txt = runLine(s, "report out.txt");
    assertEquals(txt.ok, false);
    assertStringIncludes(txt.error!, "ending in .html");
    const missing = runLine(s, "report no/such/dir/r.html");
    assertStringIncludes(missing.error!, "no directory");
    runLine(s, "help map");
    assert(runLine(s, "report r.html").ok);
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    assertStringIncludes(doc.querySelector("section#guest")!.textContent ?? "", "No guest");
    assertEquals(all(doc, "svg").length, 0);
  });
});

Deno.test("report: a failed init still reports (PVH's panic, its fixup timeline, no slots)", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir });
    runLine(s, "guest new --preset pvh-dom0");
    assert(runLine(s, "report r.html").ok);
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    assertStringIncludes(doc.querySelector("p.panic")!.textContent ?? "", "The guest is dead");
    assertStringIncludes(
      doc.querySelector("pre.log")!.textContent ?? "",
      "Kernel panic - not syncing: Failed to get contiguous memory for DMA from Xen!",
    );
    assertEquals(all(doc, "svg.swl-fixup circle.refused[data-segment]").length, 4);
    assertEquals(doc.querySelector("section#slots"), null);
  });
});

Deno.test("report: the transcript keeps the last commands of a long session and says so", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir });
    for (let i = 0; i < MAX_TRANSCRIPT + 300; i++) runLine(s, "set radix 16");
    runLine(s, "report r.html");
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    assertEquals(all(doc, "li.cmd").length, MAX_TRANSCRIPT);
    assertStringIncludes(doc.querySelector("p.summary")!.textContent ?? "", "are not kept");
    // Numbered as run: of the 2300 commands before `report`, the first 300 are not kept.
    assertEquals(doc.querySelector("li.cmd")!.getAttribute("value"), "301");
  });
});

Deno.test("repl.ts --script FILE --report OUT.html writes the run's page, failing or not", () => {
  withDir((dir) => {
    const script = `${dir}/s.txt`;
    Deno.writeTextFileSync(script, LINES.join("\n") + "\n");
    const out = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}repl.ts`, "--script", script, "--report", "r.html"],
      cwd: dir,
      // `deno task` names the caller's directory in INIT_CWD; the REPL writes there.
      env: { INIT_CWD: dir },
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    // `expect slot 3` fails: the status says so, and the report is written all the same.
    assertEquals(out.code, 1);
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    assertEquals(all(doc, "li.cmd").length, 6);
    assertEquals(all(doc, "li.fail").length, 1);
    assertStringIncludes(doc.querySelector("title")!.textContent ?? "", "s.txt");
  });
});

Deno.test("report: explain's narration is in the session's answers, as the terminal showed it", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir });
    runLine(s, "explain on");
    runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
    runLine(s, "report r.html");
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    const answer = all(doc, "li.cmd")[1].textContent ?? "";
    assertStringIncludes(answer, "rb_insert_color Case 3 - left rotate at gparent");
    assertStringIncludes(answer, "rb_insert_color Case 1 - color flips");
  });
});

Deno.test("report: every guest of the session — current, other named ones, replaced ones — and events say whose", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir, keepGoing: true });
    const lines = [
      "guest new --preset arm-dom0 --swiotlb 256K --policy faithful",
      "device add nic --mask 32",
      "buf alloc a 8K",
      "map nic a 8K to",
      "unmap nic $bus 8K to",
      "unmap nic 0x100000 8K to",
      "guest new --preset pv-dom0 --swiotlb 1M --name pv",
      // Without --name, guest new replaces the current guest: main again.
      "guest use main",
      "guest new --preset arm-dom0 --swiotlb 1M",
      "report r.html",
    ];
    for (const l of lines) runLine(s, l);
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    const articles = all(doc, "article.guest").map((
      a,
    ) => [a.getAttribute("data-guest"), a.getAttribute("data-state")]);
    assertEquals(articles, [["main", "current"], ["pv", "other"], ["main", "replaced"]]);
    // The replaced faithful guest keeps its own UB count and drawings.
    const replaced = doc.querySelector(`article[data-state="replaced"]`)!;
    assertStringIncludes(replaced.textContent ?? "", "replaced at command 9");
    assert(replaced.querySelector("svg.swl-slots"));
    // The UB is the first main's: its row names that guest and links to its article; the
    // second guest called main is "main #2".
    const ub = all(doc, "table.events tr").find((tr) => (tr.textContent ?? "").includes("UB"))!;
    const whose = ub.querySelector("td:nth-child(2) a")!;
    assertEquals(whose.textContent, "main (arm-dom0, faithful)");
    assertEquals(
      whose.getAttribute("href"),
      `#${replaced.querySelector("section")!.getAttribute("id")}`,
    );
    assertStringIncludes(
      doc.querySelector("title")!.textContent ?? "",
      "guest main #2 (arm-dom0, checked)",
    );
    // The transcript says which guest its commands ran on, where that changes.
    assertEquals(all(doc, "li.cmd .on").map((e) => e.textContent), [
      "on main (arm-dom0, faithful)",
      "on pv (pv-dom0, checked)",
      "on main (arm-dom0, faithful)",
      "on main #2 (arm-dom0, checked)",
    ]);
    // Three guests' drawings in one page, and no id twice (each slot drawing defines a
    // hatch pattern); each drawing's url(#…) names a pattern of its own.
    assert(all(doc, "svg").length >= 9);
    const ids = all(doc, "[id]").map((e) => e.getAttribute("id")!);
    assertEquals(ids.filter((x, i) => ids.indexOf(x) !== i), []);
    let refs = 0;
    for (const svg of all(doc, "svg")) {
      for (
        const [, id] of (svg.querySelector("style")?.textContent ?? "").matchAll(/url\(#([^)]+)\)/g)
      ) {
        assert(svg.querySelector(`[id="${id}"]`), `${svg.getAttribute("class")}: #${id}`);
        refs++;
      }
    }
    assertEquals(refs, all(doc, "svg.swl-slots").length);
    // And every in-page link (events → command, → guest) lands on one.
    for (const a of all(doc, "a[href]")) {
      assert(ids.includes(a.getAttribute("href")!.slice(1)), a.getAttribute("href")!);
    }
  });
});

Deno.test("report of flaw-double-unmap.txt: each DMA-API row names its own guest of the two called main", () => {
  withDir((dir) => {
    const s = new Session({ cwd: dir, keepGoing: true });
    for (const l of Deno.readTextFileSync(`${root}examples/flaw-double-unmap.txt`).split("\n")) {
      runLine(s, l);
    }
    assert(runLine(s, "report r.html").ok);
    const doc = parseHtml(Deno.readTextFileSync(`${dir}/r.html`));
    const rows = all(doc, "table.events tbody tr").map((tr) =>
      [0, 1, 2].map((k) => tr.querySelectorAll("td")[k].textContent).join(" ")
    );
    // Faithful first (its bad unmap is UB too), then checked, which refuses the same unmap.
    assertEquals(rows, [
      "13 main (arm-dom0, faithful) DMA-API",
      "18 main (arm-dom0, faithful) DMA-API",
      "18 main (arm-dom0, faithful) UB",
      "41 main #2 (arm-dom0, checked) DMA-API",
      "44 main #2 (arm-dom0, checked) DMA-API",
    ]);
    assertEquals(
      all(doc, "article.guest").map((a) => a.querySelector("h2")!.textContent),
      [
        "Guest main #2 (arm-dom0, checked) — current at the end",
        "Guest main (arm-dom0, faithful) — replaced at command 32 (as it was then)",
      ],
    );
  });
});
