/**
 * The prompt's pager (lib/repl/pager.ts): with a fake terminal, what a screenful is, the
 * keys, wrapped lines, colours and a terminal of unknown size; then the real REPL under a
 * pseudo-terminal of 12 rows (util-linux `script`, skipped when absent): `help` pages,
 * space shows the next page, q stops it and the prompt comes back without the key in the
 * next line; `set pager off`, a pipe and a short answer never page.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { firstKey, moreLine, page, type PagerTerminal } from "../lib/repl/pager.ts";
import { runLine, Session } from "../lib/repl/mod.ts";

/** A terminal of `rows` × `columns` that answers `keys` in turn and records the output. */
function fakeTerminal(rows: number | undefined, columns: number, keys: string[]) {
  let out = "";
  let asked = 0;
  const term: PagerTerminal = {
    size: () => rows === undefined ? undefined : { rows, columns },
    write: (s) => void (out += s),
    key: () => {
      asked++;
      const k = keys.shift();
      if (k === undefined) throw new Error(`the pager asked for a key too many:\n${out}`);
      return Promise.resolve(k);
    },
  };
  return { term, out: () => out, asked: () => asked };
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

/** The answer's lines the terminal got, status lines and erasures taken out. */
function shownLines(out: string): string[] {
  // deno-lint-ignore no-control-regex
  return out.replaceAll(/--More--[^\n]*?\r\x1b\[K/g, "").split("\n").filter((l) => l !== "");
}

Deno.test("page: an answer that fits above the prompt's row is written at once, no key asked", () => {
  const t = fakeTerminal(5, 80, []);
  return page(lines(4), t.term).then((r) => {
    assertEquals(r, { shown: 4, stopped: false });
    assertEquals(t.out(), lines(4).join("\n") + "\n");
    assertEquals(t.asked(), 0);
  });
});

Deno.test("page: a screenful (rows - 1), then space for a page, Enter or ↓ for a line, to the end", async () => {
  const t = fakeTerminal(5, 80, [" ", "\r", "\x1b[B", " "]);
  const r = await page(lines(11), t.term);
  assertEquals(r, { shown: 11, stopped: false });
  assertEquals(t.asked(), 4);
  const out = t.out();
  assert(out.startsWith(lines(4).join("\n") + "\n" + moreLine(4, 11) + "\r\x1b[K"), out);
  assertStringIncludes(out, moreLine(8, 11));
  assertStringIncludes(out, moreLine(9, 11));
  assertStringIncludes(out, moreLine(10, 11));
  assertEquals(shownLines(out), lines(11));
  assert(!out.endsWith("--More--"), "no status line after the last line");
});

Deno.test("page: q, Q, Ctrl-C and Esc stop with a note of what was left; other keys do nothing", async () => {
  for (const stop of ["q", "Q", "\x03", "\x1b"]) {
    const t = fakeTerminal(4, 80, ["x", "\x1b[A", stop]);
    const r = await page(lines(10), t.term);
    assertEquals(r, { shown: 3, stopped: true }, JSON.stringify(stop));
    assertEquals(t.asked(), 3);
    assertEquals(shownLines(t.out()), [...lines(3), "(7 more lines not shown)"]);
  }
});

Deno.test("page: wrapped lines take their rows; colours take none", async () => {
  // 10 columns: a 25-character line takes 3 rows; room is 4 rows.
  const long = "x".repeat(25);
  const t = fakeTerminal(5, 10, ["q"]);
  await page(["a", long, "b", "c"], t.term);
  assertEquals(shownLines(t.out())[0], "a");
  assertEquals(shownLines(t.out())[1], long);
  assertEquals(shownLines(t.out())[2], "(2 more lines not shown)");
  const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
  const c = fakeTerminal(5, 10, []);
  const r = await page([red("0123456789"), red("0123456789"), red("a"), red("b")], c.term);
  assertEquals(r.stopped, false, "four coloured 10-column lines fit in four rows");
  assertEquals(c.asked(), 0);
});

Deno.test("page: the status line is cut to one row of a narrow terminal", async () => {
  const t = fakeTerminal(4, 20, ["q"]);
  await page(lines(10), t.term);
  assert(t.out().includes("\n" + moreLine(3, 10).slice(0, 19) + "\r\x1b[K"), t.out());
});

Deno.test("page: an unknown size or a terminal under three rows never pages", async () => {
  for (const rows of [undefined, 2]) {
    const t = fakeTerminal(rows, 80, []);
    assertEquals(await page(lines(50), t.term), { shown: 50, stopped: false });
    assertEquals(t.out(), lines(50).join("\n") + "\n");
  }
});

Deno.test("firstKey: an escape sequence whole, else one character", () => {
  assertEquals(firstKey("\x1b[B\x1b[B"), "\x1b[B");
  assertEquals(firstKey("\x1bOB"), "\x1bOB");
  assertEquals(firstKey("q\r"), "q");
  assertEquals(firstKey(""), "");
});

Deno.test("set pager on|off switches the session's pager; anything else is refused", () => {
  const s = new Session({ json: true });
  assertEquals(s.pager, true, "on by default");
  assertEquals(runLine(s, "set pager off").json, { pager: false });
  assertEquals(s.pager, false);
  assertEquals(runLine(s, "set pager on").json, { pager: true });
  const bad = runLine(s, "set pager maybe");
  assertEquals(bad.error, 'Cannot set pager to "maybe": say on or off');
  assertEquals(s.pager, true);
  assertEquals(runLine(s, "set radix 12").error, 'Cannot set radix to "12": say 16 or 10');
  assertEquals(runLine(s, "set radix 10").json, { radix: 10 });
});

// ---- The real prompt under a pseudo-terminal ----

const root = fromFileUrl(new URL("../", import.meta.url));

function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Strips ANSI escapes and carriage returns. */
function plain(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replaceAll("\r", "");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deno's cache directory, passed on so the child with a fresh HOME stays offline. */
function denoDir(): string {
  const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .outputSync();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

Deno.test({
  name:
    "pty: help pages on a 12-row terminal; space, q; set pager off, pipes and short answers do not page",
  ignore: !hasScript(),
  async fn() {
    const home = Deno.makeTempDirSync({ prefix: "swiotlb_home_" });
    // `stty` gives the pseudo-terminal a size (script's own has none when its stdin is a
    // pipe); `exec` so no shell (dash, in CI) stays between script and Deno.
    const repl = "stty rows 12 cols 120; exec " +
      [Deno.execPath(), "run", "--allow-read", "--allow-env", "repl.ts", "--no-history"]
        .map((a) => `'${a}'`).join(" ");
    const child = new Deno.Command("script", {
      args: ["-qfec", repl, "/dev/null"],
      cwd: root,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1", TERM: "xterm", HOME: home, DENO_DIR: denoDir() },
    }).spawn();
    let out = "";
    const decoder = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of child.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    const writer = child.stdin.getWriter();
    const count = (text: string, from: number) => plain(out.slice(from)).split(text).length - 1;
    const waitFor = async (text: string, from: number, times = 1) => {
      const end = Date.now() + 20000;
      while (count(text, from) < times) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${text}:\n${plain(out)}`);
        await sleep(25);
      }
    };
    /** Types `keys`; resolves once `expect` shows in what follows; returns where that began. */
    const type = async (keys: string, expect: string, times = 1) => {
      const from = out.length;
      await writer.write(new TextEncoder().encode(keys));
      await waitFor(expect, from, times);
      return from;
    };
    try {
      await waitFor("swiotlb> ", 0);
      let from = await type("help\r", "--More--");
      // 11 rows of answer above the status line.
      assertEquals(plain(out.slice(from)).split("\n").length, 1 + 11 + 1, plain(out.slice(from)));
      assertEquals(count("swiotlb> ", from), 0, "no prompt while paging");
      from = await type(" ", "--More--");
      assertStringIncludes(plain(out.slice(from)), "(22 of ");
      from = await type("q", "swiotlb> ");
      assertStringIncludes(plain(out.slice(from)), "more lines not shown");
      // The pager's keys went to the pager, not into the next line.
      from = await type("guest presets\r", "swiotlb> ");
      assertStringIncludes(plain(out.slice(from)), "pvh-dom0-iommu");
      assert(!plain(out.slice(from)).includes("unknown command"), plain(out.slice(from)));
      from = await type("help | head 5\r", "swiotlb> ");
      assertEquals(count("--More--", from), 0);
      from = await type("set pager off\r", "swiotlb> ");
      from = await type("help\r", "swiotlb> ");
      assertEquals(count("--More--", from), 0, "set pager off");
      assertStringIncludes(plain(out.slice(from)), "(help redirect)");
      await writer.write(new TextEncoder().encode("quit\r"));
      assertEquals((await child.status).code, 0, plain(out));
      await reading;
    } finally {
      await writer.close().catch(() => {});
      try {
        child.kill();
      } catch {
        // Already gone.
      }
      Deno.removeSync(home, { recursive: true });
    }
  },
});
