/**
 * The HTML report in a real browser (issue 12): Debian's Chromium, headless, driven by
 * puppeteer-core with the system browser (it never downloads one), over a pipe (so the test
 * needs no network permission). The page must render
 * its drawings in the DOM, fetch nothing, and screenshot cleanly. Without Chromium (a
 * fresh machine) the test is skipped and says why; `.ci/run` installs it.
 *
 * `UPDATE_DOCS=1` also rewrites the README's screenshots under docs/.
 */

import { assert, assertEquals } from "@std/assert";
import { fromFileUrl, toFileUrl } from "@std/path";
import puppeteer, { type Page } from "puppeteer-core";
import { runLine, Session } from "../lib/repl/mod.ts";

const root = fromFileUrl(new URL("../", import.meta.url));
const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";

function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

if (!hasChromium()) {
  console.log(
    `report_browser_test: skipped — no Chromium at ${CHROMIUM} ` +
      "(apt-get install -y chromium, as .ci/run does; or set CHROMIUM=/path/to/chromium)",
  );
}

/** Flags for a headless browser on a machine with no network (see the library's env notes). */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function count(page: Page, selector: string): Promise<number> {
  return page.$$eval(selector, (els) => els.length);
}

/** A session that shows the lookup path and the double-unmap flaw, and its report. */
function buildReport(dir: string): Session {
  const s = new Session({ cwd: dir, keepGoing: true });
  const script = Deno.readTextFileSync(`${root}examples/flaw-double-unmap.txt`).split("\n");
  // The faithful half of the example: the flaw happens and C is painted over B.
  const faithful = script.slice(0, script.findIndex((l) => l.startsWith("# ---- checked")));
  for (const l of faithful) runLine(s, l);
  runLine(s, "lookup bus 0x100810");
  const r = runLine(s, "report report.html");
  assert(r.ok, r.error);
  return s;
}

/**
 * The README's pictures: segment 0 after the double-unmap flaw, and the tree of a 4 MiB
 * pool (16 segments) with a lookup that walks three levels — each drawing on its own.
 */
async function docsScreenshots(page: Page, flaw: Session, dir: string): Promise<void> {
  const shoot = async (svg: string, png: string) => {
    await page.setViewport({ width: 1600, height: 200 });
    await page.goto(toFileUrl(`${dir}/${svg}`).href);
    await page.screenshot({ path: `${root}docs/${png}`, fullPage: true });
  };
  assert(runLine(flaw, "slots 0 --svg slots.svg").ok);
  await shoot("slots.svg", "slots-flaw.png");
  const t = new Session({ cwd: dir });
  for (
    const l of ["guest new --preset arm-dom0 --swiotlb 4M", "lookup bus 0x3c0810 --svg tree.svg"]
  ) {
    assert(runLine(t, l).ok);
  }
  await shoot("tree.svg", "tree-lookup.png");
}

Deno.test({
  name:
    "report in Chromium: the drawings are in the rendered DOM, nothing is fetched, a screenshot",
  ignore: !hasChromium(),
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "swiotlb_browser_" });
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ARGS, pipe: true });
    try {
      const s = buildReport(dir);
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      const fetched: string[] = [];
      page.on("request", (req) => {
        if (!req.url().startsWith("file:") && !req.url().startsWith("data:")) {
          fetched.push(req.url());
        }
      });
      await page.goto(toFileUrl(`${dir}/report.html`).href);
      const g = s.guest!;
      assertEquals(await count(page, "svg.swl-tree g.node"), g.tree().preorder.length);
      assertEquals(await count(page, "svg.swl-tree g.hit"), 1);
      assertEquals(await count(page, "svg.swl-slots g.used"), 3);
      assertEquals(
        await count(page, `svg.swl-segments g[data-lane="bus"]`),
        g.segments().rows.length,
      );
      // Rendered, not only parsed: the drawings have a real size on the page.
      for (const kind of ["tree", "slots", "segments", "fixup"]) {
        const box = await (await page.$(`svg.swl-${kind}`))!.boundingBox();
        assert(
          box !== null && box.width > 200 && box.height > 50,
          `${kind}: ${JSON.stringify(box)}`,
        );
      }
      // At 1200 and 800 px every drawing fits its column (nothing cut off on the right),
      // shrunk no further than 3/4 so its text stays readable.
      for (const width of [1200, 800]) {
        await page.setViewport({ width, height: 900 });
        const figures = await page.$$eval("figure", (fs) =>
          fs.map((f) => {
            const svg = f.querySelector("svg")!;
            return {
              kind: svg.getAttribute("class"),
              overflow: f.scrollWidth - f.clientWidth,
              scale: svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
            };
          }));
        assertEquals(figures.length, 4);
        for (const f of figures) {
          assert(f.overflow <= 0 && f.scale >= 0.749, `${width} px: ${JSON.stringify(f)}`);
        }
      }
      // A drawing too wide for that (the 16-segment tree of a 4 MiB pool, 1358 px) stops
      // at 3/4 at 800 px and its figure scrolls; at 1200 px it shrinks to fit.
      const big = new Session({ cwd: dir });
      assert(runLine(big, "guest new --preset arm-dom0 --swiotlb 4M").ok);
      assert(runLine(big, "report big.html").ok);
      await page.goto(toFileUrl(`${dir}/big.html`).href);
      const tree = (width: number) =>
        page.setViewport({ width, height: 900 }).then(() =>
          page.$eval("figure:has(svg.swl-tree)", (f) => ({
            overflow: f.scrollWidth - f.clientWidth,
            scale: f.querySelector("svg")!.getBoundingClientRect().width /
              f.querySelector("svg")!.viewBox.baseVal.width,
          }))
        );
      const at1200 = await tree(1200);
      assert(at1200.overflow <= 0 && at1200.scale >= 0.75, JSON.stringify(at1200));
      const at800 = await tree(800);
      assert(at800.overflow > 0 && Math.abs(at800.scale - 0.75) < 0.01, JSON.stringify(at800));
      await page.setViewport({ width: 1280, height: 900 });
      await page.goto(toFileUrl(`${dir}/report.html`).href);
      const passed = await count(page, "li.cmd.pass");
      assertEquals(passed, s.transcript.entries().filter((e) => e.expect === true).length);
      assert(passed > 5);
      assertEquals(await count(page, "li.cmd.fail"), 0);
      assertEquals(fetched, []);
      const shot = await page.screenshot({ fullPage: true });
      assert(shot.length > 10_000, `screenshot of ${shot.length} bytes`);
      // PNG magic.
      assertEquals(Array.from(shot.subarray(0, 4)), [0x89, 0x50, 0x4e, 0x47]);
      if (Deno.env.get("UPDATE_DOCS")) await docsScreenshots(page, s, dir);
    } finally {
      await browser.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
