/**
 * Every REPL verb, in process: its text answer, its `--json` object (the SPEC §10
 * contract), and its error cases. Nothing here spawns a process.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import {
  cmdTable,
  complete,
  type FileAccess,
  parseLine,
  runLine,
  runScriptText,
  Session,
  tokenize,
} from "../lib/repl/mod.ts";
import { quoteWord } from "../lib/repl/tokenize.ts";

/** An in-memory file system, so `source`, `guest load` and `tree --dot` touch no disk. */
function memFiles(init: Record<string, string> = {}): FileAccess & { files: Map<string, string> } {
  const files = new Map(Object.entries(init));
  return {
    files,
    readText: (p) => {
      const t = files.get(p);
      if (t === undefined) throw new Error(`No such file: ${p}`);
      return t;
    },
    writeText: (p, t) => void files.set(p, t),
    appendText: (p, t) => void files.set(p, (files.get(p) ?? "") + t),
    exists: (p) => files.has(p),
    stat: (p) => {
      const t = files.get(p);
      if (t === undefined) throw new Error(`No such file: ${p}`);
      return { kind: "file", size: new TextEncoder().encode(t).length };
    },
  };
}

function session(json = false, files = memFiles()): Session {
  return new Session({ json, cwd: "/lab", files });
}

/** Runs lines; returns the last result, failing the test if an earlier one failed. */
function run(s: Session, ...lines: string[]) {
  let r = runLine(s, lines[0]);
  for (const [i, l] of lines.entries()) {
    if (i > 0) r = runLine(s, l);
    if (i < lines.length - 1) assert(r.ok, `${l}: ${r.error}`);
  }
  return r;
}

/** The one JSON object a `--json` line printed. */
function jsonOf(s: Session, line: string): Record<string, unknown> {
  const r = runLine(s, line);
  assertEquals(r.output.length, 1, `${line} printed ${r.output.length} lines`);
  return JSON.parse(r.output[0]);
}

const ARM = "guest new --preset arm-dom0 --swiotlb 1M";
const SMMU = "guest new --preset arm-dom0-smmu --swiotlb 1M";

function armWithMap(json = false): Session {
  const s = session(json);
  run(s, ARM, "device add nic --mask 32", "buf alloc rx 8K", "buf write rx de:ad:be:ef");
  return s;
}

function noStack(lines: string[]): void {
  for (const l of lines) assert(!/^\s+at .*:\d+:\d+\)?$/.test(l), `stack trace line: ${l}`);
}

Deno.test("tokenize splits words, honours quotes and comments", () => {
  assertEquals(tokenize(`buf write rx "a b" 'c' # note`).map((t) => t.text), [
    "buf",
    "write",
    "rx",
    "a b",
    "c",
  ]);
  assertEquals(tokenize(`x "\\x41\\n"`)[1].text, "A\n");
  assertEquals(tokenize("# only a comment"), []);
  assert(tokenize(`"q"`)[0].quoted);
});

Deno.test("tokenize makes unquoted |, > and >> operators, even inside a word; quoted they are text", () => {
  const shape = (line: string) => tokenize(line).map((t) => t.op ?? `[${t.text}]`);
  assertEquals(shape("segments --all | grep 0x40"), [
    "[segments]",
    "[--all]",
    "|",
    "[grep]",
    "[0x40]",
  ]);
  assertEquals(shape("tree>out.txt"), ["[tree]", ">", "[out.txt]"]);
  assertEquals(shape("tree >>out.txt"), ["[tree]", ">>", "[out.txt]"]);
  assertEquals(shape("a>>>b"), ["[a]", ">>", ">", "[b]"]);
  assertEquals(shape("a||b"), ["[a]", "|", "|", "[b]"]);
  assertEquals(shape(`buf write rx "a|b" 'c>d' e"|"f`), [
    "[buf]",
    "[write]",
    "[rx]",
    "[a|b]",
    "[c>d]",
    "[e|f]",
  ]);
  assertEquals(tokenize("x | y")[1], { text: "|", quoted: false, start: 2, op: "|" });
  assertEquals(shape("x # a | comment"), ["[x]"]);
  assertEquals(quoteWord("a|b"), '"a|b"');
  assertEquals(quoteWord("x>y"), '"x>y"');
  assertEquals(quoteWord("plain"), "plain");
});

Deno.test("guest new: text says what was built and why", () => {
  const s = session();
  const r = run(s, ARM);
  assert(r.ok);
  const text = r.output.join("\n");
  assertStringIncludes(text, "guest arm-dom0: arm, autotranslated, no IOMMU");
  assertStringIncludes(text, "swiotlb-xen");
  assertStringIncludes(text, "[next: device add nic --mask 32");
});

Deno.test("guest new --json has the SPEC §10 fields", () => {
  const s = session(true);
  const j = jsonOf(s, ARM);
  for (const k of ["mode", "arch", "iommu", "swiotlb_xen", "nslabs", "pool_phys", "log"]) {
    assert(k in j, `missing ${k}`);
  }
  assertEquals(j.mode, "auto");
  assertEquals(j.arch, "arm");
  assertEquals(j.iommu, false);
  assertEquals(j.swiotlb_xen, true);
  assertEquals(j.nslabs, 512);
  assertEquals(typeof j.pool_phys, "number");
  assert(Array.isArray(j.log));
  const smmu = jsonOf(s, SMMU);
  assertEquals(smmu.swiotlb_xen, false);
  assertEquals(smmu.iommu, true);
});

Deno.test("guest new: flags override the preset; bad values are errors", () => {
  const s = session(true);
  assertEquals(jsonOf(s, "guest new --preset pv-dom0 --swiotlb 1M --force").mode, "pv");
  const bad = jsonOf(s, "guest new --preset nope");
  assertStringIncludes(String(bad.error), "Unknown preset");
  const choice = jsonOf(s, "guest new --mode sideways");
  assertStringIncludes(String(choice.error), "sideways");
  const size = jsonOf(s, "guest new --preset arm-dom0 --mem 4Q");
  assertStringIncludes(String(size.error), "4Q");
  // The earlier guest survives a failed `guest new`.
  assertEquals(jsonOf(s, "guest show").mode, "pv");
});

Deno.test("guest new with fault flags reaches config.faults", () => {
  const s = session(true);
  const j = jsonOf(s, "guest new --preset arm-dom0 --swiotlb 1M --exhaust-low 32");
  assertEquals(j.init_ok, false);
  assert((j.log as string[]).some((l) => l.includes("Failed to get contiguous memory")));
  const ok = jsonOf(s, "guest new --preset arm-dom0 --swiotlb 1M --fail-exchanges 3");
  assertEquals(ok.init_ok, true);
});

Deno.test("guest load reads TOML and JSON guest files", () => {
  const files = memFiles({
    "/lab/g.toml": 'preset = "arm-dom0"\nswiotlb = "1M"\n',
    "/lab/g.json": '{"mode": "pv", "swiotlb": 512}',
  });
  const s = session(true, files);
  const t = jsonOf(s, "guest load g.toml");
  assertEquals(t.arch, "arm");
  assertEquals(t.nslabs, 512);
  assertEquals(jsonOf(s, "guest load g.json").mode, "pv");
  assertStringIncludes(
    String(jsonOf(s, "guest load missing.toml").error),
    "Cannot read guest file",
  );
});

Deno.test("guest show and guest presets", () => {
  const s = armWithMap();
  const show = run(s, "guest show").output.join("\n");
  assertStringIncludes(show, "devices:");
  assertStringIncludes(show, "rx: phys");
  const presets = run(s, "guest presets").output.join("\n");
  for (const p of ["pv-dom0", "arm-dom0-smmu", "pvh-dom0-iommu"]) assertStringIncludes(presets, p);
  const j = jsonOf(session(true), "guest presets");
  assertEquals((j.presets as unknown[]).length, 6);
});

Deno.test("commands that need a guest say how to make one", () => {
  const s = session();
  const r = runLine(s, "map nic rx 8K to");
  assert(!r.ok);
  assertStringIncludes(r.output[0], "guest new --preset");
});

Deno.test("device add/list/remove: text and json", () => {
  const s = session(true);
  run(s, ARM);
  const d = jsonOf(s, "device add nic --mask 32");
  assertEquals(d.device, "nic");
  assertEquals(d.mask_bits, 32);
  assertEquals(jsonOf(s, "device add nomask").mask_bits, null);
  assertEquals((jsonOf(s, "device list").devices as unknown[]).length, 2);
  assertEquals(jsonOf(s, "device remove nomask").removed, true);
  assertStringIncludes(String(jsonOf(s, "device add nic").error), "exists");
  assertStringIncludes(String(jsonOf(s, "device add x --mask 99").error), "99");
  assertStringIncludes(String(jsonOf(s, "device remove ghost").error), "Unknown device");
});

Deno.test("buf alloc/write/read: hex, strings, patterns, offsets", () => {
  const s = session(true);
  run(s, ARM);
  const b = jsonOf(s, "buf alloc rx 8K");
  assertEquals(b.buf, "rx");
  assertEquals(b.size, 8192);
  assertEquals(typeof b.phys, "number");
  jsonOf(s, "buf write rx de:ad:be:ef");
  assertEquals(jsonOf(s, "buf read rx 0 4").bytes, "deadbeef");
  jsonOf(s, "buf write rx 4 cafe");
  assertEquals(jsonOf(s, "buf read rx 4 2").bytes, "cafe");
  jsonOf(s, 'buf write rx 8 "cafe"');
  assertEquals(jsonOf(s, "buf read rx 8 4").bytes, "63616665");
  jsonOf(s, "buf write rx 0x100 --pattern 5a:a5 --len 6");
  assertEquals(jsonOf(s, "buf read rx 0x100 6").bytes, "5aa55aa55aa5");
  jsonOf(s, "buf write rx 0x1000 --pattern 77");
  assertEquals(jsonOf(s, "buf read rx 0x1ffe 2").bytes, "7777");
  assertStringIncludes(String(jsonOf(s, "buf write rx xyz").error), "Cannot parse bytes");
  assertStringIncludes(String(jsonOf(s, "buf write rx 8190 de:ad:be:ef").error), "outside");
  assertStringIncludes(String(jsonOf(s, "buf alloc rx 4K").error), "exists");
  const text = run(session(), ARM, "buf alloc b 64", 'buf write b "hi"', "buf read b").output;
  assertMatch(text.join("\n"), /68 69 00/);
});

Deno.test("map (bounced) --json: bus, phys, bounced, slot, segment", () => {
  const s = armWithMap(true);
  const m = jsonOf(s, "map nic rx 8K to");
  assertEquals(m.bounced, true);
  assertEquals(m.slot, 0);
  assertEquals(m.segment, 0);
  assertEquals(m.copied, 8192);
  for (const k of ["bus", "phys"]) assertEquals(typeof m[k], "number");
  assertEquals(jsonOf(s, "dma read nic $bus 4").bytes, "deadbeef");
});

Deno.test("map (not bounced) --json: slot and segment are null", () => {
  const s = session(true);
  run(s, SMMU, "device add nic --mask 32", "buf alloc rx 8K");
  const m = jsonOf(s, "map nic rx 8K to");
  assertEquals(m.bounced, false);
  assertEquals(m.slot, null);
  assertEquals(m.segment, null);
  assertEquals(m.bus, m.phys);
});

Deno.test("map text: bounced, why, slots, bus, copied and a next hint", () => {
  const s = armWithMap();
  const text = run(s, "map nic rx 8K to").output.join("\n");
  assertStringIncludes(text, "bounced");
  assertStringIncludes(text, "autotranslated guests always bounce");
  assertStringIncludes(text, "slots 0-3 of segment 0");
  assertStringIncludes(text, "copied 8192 bytes CPU → bounce");
  assertStringIncludes(text, "[next: dma read nic");
});

Deno.test("map: buffer offsets, physical addresses and argument errors", () => {
  const s = armWithMap(true);
  assertEquals(jsonOf(s, "map nic rx+0x800 2K bidi").bounced, true);
  assertEquals(jsonOf(s, "map nic $rx 2K DMA_FROM_DEVICE").bounced, true);
  assertStringIncludes(String(jsonOf(s, "map nic rx 8K sideways").error), "Cannot parse direction");
  assertStringIncludes(String(jsonOf(s, "map nic ghost 8K to").error), "Unknown buffer");
  assertStringIncludes(String(jsonOf(s, "map nic rx").error), "missing required argument");
  assertStringIncludes(String(jsonOf(s, "map nic rx 8K to extra").error), "too many arguments");
  assertStringIncludes(String(jsonOf(s, "map nic rx 0 to").error), "BUG");
});

Deno.test("unmap and sync --json: ok and copied", () => {
  const s = armWithMap(true);
  jsonOf(s, "map nic rx 8K from");
  assertEquals(jsonOf(s, "dma write nic $bus 01:02:03:04").written, 4);
  const sy = jsonOf(s, "sync nic $bus 8K from --for cpu");
  assertEquals(sy.ok, true);
  assertEquals(sy.copied, 8192);
  assertEquals(jsonOf(s, "buf read rx 0 4").bytes, "01020304");
  assertEquals(jsonOf(s, "sync nic $bus 8K from --for device").copied, 0);
  const u = jsonOf(s, "unmap nic $bus 8K from");
  assertEquals(u.ok, true);
  assertEquals(u.copied, 8192);
  assertStringIncludes(String(jsonOf(s, "sync nic 0x0 8K to").error), "--for");
});

Deno.test("unmap with the wrong size is refused under checked, with the reason", () => {
  const s = armWithMap();
  run(s, "map nic rx 8K to");
  const r = runLine(s, "unmap nic $bus 4K to");
  assert(!r.ok);
  const text = r.output.join("\n");
  assertStringIncludes(text, "error: ");
  assertStringIncludes(text, "8192");
  assertStringIncludes(text, "nothing changed (policy checked");
});

Deno.test("map-sg / sync-sg / unmap-sg", () => {
  const s = armWithMap(true);
  const m = jsonOf(s, "map-sg nic rx:0:4K rx:4K:4K bidi");
  assertEquals(m.ret, 2);
  assertEquals((m.elements as { bounced: boolean }[]).every((e) => e.bounced), true);
  assertEquals(jsonOf(s, "sync-sg nic rx:0:4K rx:4K:4K bidi --for cpu").ok, true);
  assertEquals(jsonOf(s, "unmap-sg nic rx:0:4K rx:4K:4K bidi").copied, 8192);
  assertStringIncludes(String(jsonOf(s, "map-sg nic to").error), "at least one element");
  assertStringIncludes(String(jsonOf(s, "map-sg nic rx:1:2:3:4 to").error), "scatterlist element");
  const unknown = jsonOf(s, "unmap-sg nic rx:0:4K to");
  assertEquals(unknown.code, "no-sg-list");
  assertStringIncludes(String(unknown.hint), "map-sg");
});

Deno.test("alloc-coherent / free-coherent", () => {
  const s = armWithMap(true);
  const c = jsonOf(s, "alloc-coherent nic 16K");
  assertEquals(c.size, 16384);
  assertEquals(typeof c.bus, "number");
  assertEquals(jsonOf(s, "free-coherent nic $bus 16K").ok, true);
  assertStringIncludes(
    String(jsonOf(s, "free-coherent nic 0x1234 16K").error),
    "not a coherent buffer",
  );
});

Deno.test("dma read/write and dma-supported", () => {
  const s = armWithMap(true);
  jsonOf(s, "map nic rx 8K bidi");
  jsonOf(s, "dma write nic $bus 16 --pattern ab");
  assertEquals(jsonOf(s, "dma read nic $bus 4").bytes, "abababab");
  assertStringIncludes(String(jsonOf(s, "dma write nic $bus").error), "BYTES");
  assertEquals(jsonOf(s, "dma-supported nic 64").supported, true);
  assertEquals(typeof jsonOf(s, "dma-supported nic 0xffff").supported, "boolean");
  const text = run(armWithMap(), "map nic rx 8K to", "dma read nic $bus 32").output;
  assertMatch(text.join("\n"), /de ad be ef/);
});

Deno.test("lookup bus --json: phys, segment, visited dma_addrs; lookup phys: bus, segment", () => {
  const s = armWithMap(true);
  const m = jsonOf(s, "map nic rx 8K to");
  const l = jsonOf(s, "lookup bus $bus+0x10");
  assertEquals(l.phys, (m.phys as number) + 0x10);
  assertEquals(l.segment, 0);
  const visited = l.visited as number[];
  assert(visited.length >= 1);
  assert(visited.every((v) => typeof v === "number"));
  const p = jsonOf(s, "lookup phys $phys");
  assertEquals(p.bus, m.bus);
  assertEquals(p.segment, 0);
  const text = run(armWithMap(), "map nic rx 8K to", "lookup bus $bus").output.join("\n");
  assertStringIncludes(text, "visited, with the interval test dma_addr <= bus < dma_addr + size:");
  assertStringIncludes(text, "    root [0x140000,+256K): 0x100000 < 0x140000 → go left");
  assertStringIncludes(text, "0x100000 <= 0x100000 < 0x140000 ✓ contains");
});

Deno.test("segments --json and text table with the alignment column", () => {
  const s = session(true);
  run(s, ARM);
  const j = jsonOf(s, "segments");
  const segs = j.segments as Record<string, number>[];
  assertEquals(segs.length, 4);
  for (const k of ["dma_addr", "phys_addr", "size"]) assertEquals(typeof segs[0][k], "number");
  const t = run(session(), ARM, "segments").output.join("\n");
  assertStringIncludes(t, "bus aligned to size?");
  assertStringIncludes(t, "┌");
  const none = run(session(), SMMU, "segments").output.join("\n");
  assertStringIncludes(none, "no segment array");
});

Deno.test("tree --json: preorder with colours, valid; text drawing, --validate, --dot", () => {
  const files = memFiles();
  const s = session(true, files);
  run(s, ARM);
  const t = jsonOf(s, "tree");
  const pre = t.preorder as Record<string, unknown>[];
  assertEquals(pre.length, 4);
  for (const k of ["dma_addr", "phys_addr", "size", "color"]) assert(k in pre[0]);
  assertEquals(pre[0].color, "black");
  assertEquals(t.valid, true);
  assertEquals(jsonOf(s, "tree --dot t.dot").dot, "t.dot");
  assertStringIncludes(files.files.get("/lab/t.dot") ?? "", "digraph");
  const text = run(session(), ARM, "tree").output.join("\n");
  assertMatch(text, /^B \[0x/m);
  assertStringIncludes(text, "root/l");
  assertStringIncludes(text, "in order:");
  const v = run(session(), ARM, "tree --validate").output.join("\n");
  assertStringIncludes(v, "tree valid");
  const none = jsonOf(session(true), SMMU);
  assert(none);
});

Deno.test("slots --json: nslabs, index, every counter", () => {
  const s = armWithMap(true);
  jsonOf(s, "map nic rx 8K to");
  const all = jsonOf(s, "slots");
  assertEquals(all.nslabs, 512);
  assertEquals(all.index, 4);
  const list = all.list as number[];
  assertEquals(list.length, 512);
  assertEquals(list.slice(0, 5), [0, 0, 0, 0, 124]);
  assertEquals((jsonOf(s, "slots 1").list as number[]).length, 128);
  assertStringIncludes(String(jsonOf(s, "slots 9").error), "No segment 9");
  const text = run(armWithMap(), "map nic rx 8K to", "slots 0").output.join("\n");
  assertStringIncludes(text, "used 0-3");
  assertStringIncludes(text, "hint (io_tlb_index) 4");
});

Deno.test("p2m and m2p", () => {
  const s = session(true);
  run(s, "guest new --preset pv-dom0 --swiotlb 1M");
  const p = jsonOf(s, "p2m 0 64");
  const runs = p.runs as { count: number }[];
  assertEquals(runs.reduce((a, r) => a + r.count, 0), 64);
  const first = (runs[0] as unknown as { mfn: number }).mfn;
  const m = jsonOf(s, `m2p ${first}`);
  assertEquals(m.pfn, 0);
  assertStringIncludes(String(jsonOf(s, "p2m zz").error), "Cannot parse");
});

Deno.test("stats --json is an object of counters", () => {
  const s = armWithMap(true);
  jsonOf(s, "map nic rx 8K to");
  const st = jsonOf(s, "stats");
  assert(Object.values(st).every((v) => typeof v === "number"));
  assertEquals(st.bounces, 1);
});

Deno.test("trace, debug, set radix", () => {
  const s = session();
  run(s, "trace on");
  const g = run(s, ARM).output.join("\n");
  assertStringIncludes(g, "· fixup:");
  run(s, "trace off", "set radix 10", "device add nic --mask 32", "buf alloc rx 4K");
  const m = run(s, "map nic rx 4K to").output.join("\n");
  assert(!m.includes("0x"), m);
  assertEquals(jsonOf(session(true), "debug off").debug, false);
  assert(!runLine(s, "set radix 8").ok);
});

Deno.test("expect: passes, fails with line info, and expect error accounts for a failure", () => {
  const s = armWithMap(true);
  jsonOf(s, "map nic rx 8K to");
  assertEquals(jsonOf(s, "expect bounced").ok, true);
  assertEquals(jsonOf(s, "expect segment 0").ok, true);
  const bad = jsonOf(s, "expect not bounced");
  assertEquals(bad.ok, false);
  assertStringIncludes(String(bad.error), "expected not bounced");
  jsonOf(s, "unmap nic $bus 4K to");
  assertEquals(jsonOf(s, 'expect error "mapped with"').ok, true);
  assertStringIncludes(String(jsonOf(s, "expect sideways").error), "Unknown expectation");
  const script = runScriptText(session(), "# c\nhelp\nexpect error\n", "x.txt", {
    keepGoing: false,
    runLine,
  });
  assertEquals(script.ok, false);
  assertStringIncludes(script.output.join("\n"), "x.txt:3");
});

Deno.test("source runs a file like a script, relative to the sourcing script", () => {
  const files = memFiles({
    "/lab/a.txt": "source sub/b.txt\nexpect init ok\n",
    "/lab/sub/b.txt": `${ARM}\n# comment\n`,
    "/lab/bad.txt": "mpa\n",
  });
  const s = session(false, files);
  const r = runScriptText(
    s,
    "source a.txt\n",
    "main.txt",
    { keepGoing: false, runLine },
    "/lab/main.txt",
  );
  assert(r.ok, r.output.join("\n"));
  const b = runLine(s, "source bad.txt");
  assert(!b.ok);
  assertStringIncludes(b.output.join("\n"), "unknown command 'mpa'");
  assert(!runLine(s, "source nothere.txt").ok);
});

Deno.test("help lists every verb; help VERB shows synopsis, options and an example", () => {
  const s = session();
  const list = run(s, "help").output.join("\n");
  for (const c of cmdTable()) assertStringIncludes(list, c.path.join(" "));
  const map = run(s, "help map").output.join("\n");
  assertStringIncludes(map, "map DEV BUF|PHYS SIZE DIR");
  assertStringIncludes(map, "swiotlb> map nic rx 8K to");
  const gn = run(s, "help guest new").output.join("\n");
  assertStringIncludes(gn, "--preset");
  assertStringIncludes(run(s, "help guest").output.join("\n"), "guest presets");
  assertStringIncludes(run(s, "map --help").output.join("\n"), "Examples:");
  assertStringIncludes(String(runLine(s, "help mpa").error), "did you mean 'map'");
});

Deno.test("every verb has a summary and a captioned example that parses and runs", () => {
  for (const c of cmdTable()) {
    assert(c.summary.length > 0, c.path.join(" "));
    assert(c.examples.length > 0, `${c.path.join(" ")} has no example`);
    for (const e of c.examples) {
      assert(e.caption.length > 0, `example "${e.line}" has no caption`);
      const parsed = parseLine(e.line);
      assertEquals(parsed?.spec, c, `example "${e.line}" runs another verb`);
      if (e.run === false) continue;
      const s = new Session({ color: false });
      // An `expect error` example needs a failed command before it.
      const mayFail = e.line.startsWith("expect error");
      for (const l of e.setup ?? []) {
        assert(runLine(s, l).ok || mayFail, `setup of "${e.line}": ${l}`);
      }
      const r = runLine(s, e.line);
      assert(r.output.length > 0, `example "${e.line}" answers nothing`);
      // Only the examples that show a refusal may fail.
      if (!r.ok) assert(/wrong size|overlapping/.test(e.caption), `"${e.line}": ${r.error}`);
    }
  }
});

Deno.test("unknown verbs and options: did you mean, never a stack trace", () => {
  const s = session();
  const r = runLine(s, "mpa nic rx 8K to");
  assert(!r.ok);
  assertEquals(r.output[0], "error: unknown command 'mpa' — did you mean 'map'?");
  assertStringIncludes(runLine(s, "guest nwe").output[0], "did you mean 'guest new'");
  run(s, ARM);
  const o = runLine(s, "device add x --mak 3");
  assertStringIncludes(o.output[0], "did you mean '--mask'");
  assertStringIncludes(o.output.join("\n"), "usage: device add NAME");
  assertStringIncludes(runLine(s, "guest").output[0], "needs a subcommand");
  assertStringIncludes(runLine(s, 'buf write rx "open').output[0], "unterminated");
  for (const line of ["", "   ", "# just a comment"]) {
    const c = runLine(s, line);
    assert(c.ok);
    assertEquals(c.output, []);
  }
  noStack(runLine(s, "map nic rx 8K to").output);
});

Deno.test("quit ends a script and the REPL", () => {
  const s = session();
  assertEquals(runLine(s, "quit").quit, true);
  assertEquals(runLine(s, "exit").quit, true);
  const r = runScriptText(s, "quit\nmpa\n", "q.txt", { keepGoing: false, runLine });
  assert(r.ok && r.quit);
});

Deno.test("--json prints exactly one object per command, nothing for comments", () => {
  const s = session(true);
  const text =
    `# header\n\n${ARM}\ndevice add nic --mask 32\n  # indented comment\nbuf alloc rx 4K\nmpa\n`;
  const r = runScriptText(s, text, "j.txt", { keepGoing: true, runLine });
  assertEquals(r.output.length, 4);
  const objs = r.output.map((l) => JSON.parse(l));
  assertStringIncludes(objs[3].error, "unknown command");
  assertEquals(r.ok, false);
  assertEquals(r.errors, 1);
});

Deno.test("a script stops at the first error unless --keep-going", () => {
  const text = "mpa\nhelp\n";
  const stop = runScriptText(session(), text, "s.txt", { keepGoing: false, runLine });
  assertEquals(stop.commands, 1);
  const go = runScriptText(session(), text, "s.txt", { keepGoing: true, runLine });
  assertEquals(go.commands, 2);
  assertEquals(go.ok, false);
});

Deno.test("complete: verbs, subcommands, flags, presets, devices, buffers, directions", () => {
  const s = armWithMap();
  assertEquals(complete(s, "gu"), [["guest "], "gu"]);
  assertEquals(complete(s, "guest n"), [["new "], "n"]);
  assertEquals(complete(s, "guest new --preset arm-dom0-s"), [["arm-dom0-smmu "], "arm-dom0-s"]);
  assert(complete(s, "guest new --pre")[0].includes("--preset "));
  assertEquals(complete(s, "map n"), [["nic "], "n"]);
  assertEquals(complete(s, "map nic r"), [["rx "], "r"]);
  assertEquals(complete(s, "map nic rx 8K b"), [["bidi "], "b"]);
  assertEquals(complete(s, "sync nic 0x0 8K to --for c"), [["cpu "], "c"]);
  assertEquals(complete(s, "expect tree v"), [["valid "], "v"]);
  assertEquals(complete(s, "help ma")[0].sort(), ["map", "map-error", "map-sg"]);
  assertEquals(complete(s, "trace o")[0].sort(), ["off", "on"]);
});
