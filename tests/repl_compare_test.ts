/**
 * `compare SCRIPT --preset A --preset B …` (issue 12, item 5): every cell is the answer the
 * engine gives that guest for that line — checked against the same lines run by hand in a
 * session of their own — and the differing cells are the ones a reviewer expects: PV
 * dom0's fast path, ARM dom0's bounce, PVH dom0 behind an IOMMU mapping directly.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { jsonReplacer } from "../lib/addr.ts";
import { complete, runLine, Session } from "../lib/repl/mod.ts";
import { memFiles } from "./_mem_files.ts";

const root = fromFileUrl(new URL("../", import.meta.url));
const SCRIPT = "examples/compare/map-lookup.txt";
const PRESETS = ["pv-dom0", "arm-dom0", "pvh-dom0-iommu"];
const LINE = `compare ${SCRIPT} ${PRESETS.map((p) => `--preset ${p}`).join(" ")} --swiotlb 1M`;

type Obj = Record<string, unknown>;

/** The script's command lines with their line numbers. */
function commands(text: string): { where: string; line: string }[] {
  return text.split("\n").flatMap((line, i) =>
    line.trim() === "" || line.trim().startsWith("#") ? [] : [{ where: `${i + 1}`, line }]
  );
}

/** What each line answers when run by hand after `guest new`, as JSON would carry it. */
function byHand(guest: string, lines: readonly string[]): Obj[] {
  const s = new Session({ cwd: root, keepGoing: true });
  assert(runLine(s, guest).ok);
  return lines.map((l) => JSON.parse(JSON.stringify(runLine(s, l).json, jsonReplacer)));
}

Deno.test("compare on three presets: each cell is that guest's own answer", () => {
  const s = new Session({ cwd: root, json: true });
  const r = runLine(s, LINE);
  assert(r.ok, r.error);
  assertEquals(r.output.length, 1, "one JSON object");
  const out = JSON.parse(r.output[0]);
  assertEquals(out.guests, PRESETS);
  const script = commands(Deno.readTextFileSync(`${root}${SCRIPT}`));
  assertEquals(
    out.commands.map((c: Obj) => [c.where, c.line]),
    script.map((c) => [c.where, c.line]),
  );
  PRESETS.forEach((p, i) => {
    const line = `guest new --preset ${p} --swiotlb 512`;
    assertEquals(out.setup[i].line, line);
    const want = byHand(line, script.map((c) => c.line));
    out.commands.forEach((c: { answers: Obj[] }, k: number) => {
      assertEquals(c.answers[i], want[k], `${p}: ${script[k].line}`);
    });
  });
  // `same` and `fields` say what the answers say.
  for (const c of out.commands as { same: boolean; fields: string[]; answers: Obj[] }[]) {
    const texts = c.answers.map((a) => JSON.stringify(a));
    assertEquals(c.same, texts.every((t) => t === texts[0]));
    for (const f of c.fields) {
      const v = c.answers.map((a) => JSON.stringify(a[f]));
      assert(v.some((x) => x !== v[0]), `${f} differs`);
    }
  }
  const row = (line: string) => out.commands.find((c: Obj) => c.line === line);
  // The 64-bit device: PV's fast path, the RFC's bounce, the IOMMU's direct map.
  const map = row("map nic rx 4K to");
  assertEquals(map.same, false);
  assertEquals(
    map.answers.map((a: Obj) => [a.bounced, (a.reason as Obj).code, a.slot]),
    [[false, "fast-path", null], [true, "autotranslate", 0], [false, "direct", null]],
  );
  for (const f of ["bounced", "bus", "slot", "reason"]) assert(map.fields.includes(f), f);
  // The 32-bit device bounces on PV too (its frames lie above 4 GiB).
  const old = row("map old rx 4K to");
  assertEquals(old.answers.map((a: Obj) => (a.reason as Obj).code), [
    "beyond-mask",
    "autotranslate",
    "direct",
  ]);
  // The double unmap: refused by both swiotlb-xen guests, nothing to refuse without it.
  const twice = out.commands.filter((c: Obj) => c.line === "unmap old $bus 4K to")[1];
  assertEquals(twice.answers.map((a: Obj) => a.code ?? null), ["not-mapped", "not-mapped", null]);
  assertEquals(row("device add nic --mask 64").same, true);
  assertEquals(out.same + out.differ, out.commands.length);
});

Deno.test("compare's table: a column per guest, the differing rows, the words of each cell", () => {
  const s = new Session({ cwd: root });
  const json = new Session({ cwd: root, json: true });
  const out = JSON.parse(runLine(json, LINE).output[0]);
  const text = runLine(s, LINE).output;
  const all = text.join("\n");
  assertStringIncludes(
    text[0],
    `on 3 guests (${
      PRESETS.join(", ")
    }): ${out.commands.length} commands, ${out.differ} answered differently, ${out.same} the same (not shown; --all shows them)`,
  );
  for (const p of PRESETS) assertStringIncludes(text[2], p);
  const lineOf = (cmd: string) => text.findIndex((l) => l.includes(cmd));
  const map = out.commands.find((c: Obj) => c.line === "map nic rx 4K to");
  const at = lineOf(`${map.where}: map nic rx 4K to`);
  assert(at > 0, all);
  const cells = text[at].split("│").map((c) => c.trim());
  assertEquals(cells.slice(2, 5), ["not bounced", "bounced", "not bounced"]);
  const bus = text.slice(at, at + 4).find((l) => l.includes("bus "))!;
  for (const a of map.answers) assertStringIncludes(bus, `bus 0x${a.bus.toString(16)}`);
  // Rows that answer alike are counted, not shown, unless --all.
  assertEquals(lineOf("device add nic --mask 64"), -1);
  const every = runLine(s, `${LINE} --all`).output;
  assert(every.some((l) => l.includes("device add nic --mask 64") && l.includes("≡ same")));
  // The radix of the session that compares.
  runLine(s, "set radix 10");
  const dec = runLine(s, LINE).output.join("\n");
  assertStringIncludes(dec, `bus ${map.answers[1].bus}`);
});

Deno.test("compare leaves the current session's guest, variables and settings as they were", () => {
  const s = new Session({ cwd: root, json: true });
  for (
    const l of [
      "guest new --preset arm-dom0 --swiotlb 1M",
      "device add x --mask 32",
      "buf alloc b 8K",
      "map x b 8K to",
    ]
  ) {
    assert(runLine(s, l).ok, l);
  }
  const before = [runLine(s, "guest show").json, runLine(s, "stats").json, [...s.vars]];
  const guest = s.guest;
  assert(runLine(s, LINE).ok);
  assert(s.guest === guest);
  assertEquals([runLine(s, "guest show").json, runLine(s, "stats").json, [...s.vars]], before);
});

Deno.test("compare: guest files, --swiotlb on every guest, the order given", () => {
  const files = memFiles({
    "/lab/t.txt":
      "device add nic --mask 32\nbuf alloc rx 8K\nmap nic rx 8K to\nunmap nic $bus 8K to\nunmap nic $bus 8K to\nstats\n",
    "/lab/faithful.toml": 'preset = "arm-dom0"\npolicy = "faithful"\n',
  });
  const s = new Session({ cwd: "/lab", files, json: true });
  const r = runLine(s, "compare t.txt --guest faithful.toml --preset arm-dom0 --swiotlb 256K");
  assert(r.ok, r.error);
  const out = JSON.parse(r.output[0]);
  assertEquals(out.guests, ["arm-dom0", "faithful.toml"]);
  assertEquals(out.setup.map((g: Obj) => (g.answer as Obj).nslabs), [128, 128]);
  assertEquals(out.guest_fields, ["policy"]);
  // The double unmap: checked refuses it, faithful does it and reports UB.
  const twice = out.commands[4];
  assertEquals(twice.answers[0].code, "not-mapped");
  assert(twice.answers[1].events.some((e: Obj) => e.kind === "ub"));
  assertEquals(out.commands[5].fields.includes("ub_events"), true);
});

Deno.test("compare refuses what it cannot compare, clearly", () => {
  const files = memFiles({
    "/lab/own.txt": "device add nic --mask 32\nguest new --preset pv-dom0\n",
    "/lab/nested.txt": "device add nic --mask 32\nsource own.txt\n",
    "/lab/loop.txt": "source inner.txt\n",
    "/lab/inner.txt": "compare loop.txt --preset pv-dom0 --preset arm-dom0\n",
    "/lab/ok.txt": "guest presets\n",
    "/lab/bad.toml": "mode = 7\n",
  });
  const s = new Session({ cwd: "/lab", files });
  const err = (line: string) => String(runLine(s, line).error);
  const two = "--preset pv-dom0 --preset arm-dom0";
  assertStringIncludes(
    err(`compare own.txt ${two}`),
    "compare: own.txt:2 runs guest new; compare makes each guest itself",
  );
  assertStringIncludes(err(`compare nested.txt ${two}`), "compare: own.txt:2 runs guest new");
  assertStringIncludes(err(`compare loop.txt ${two}`), "compare: inner.txt:1 runs compare");
  assertStringIncludes(err("compare ok.txt --preset pv-dom0"), "at least two guests");
  assertStringIncludes(
    err("compare ok.txt --preset pv-dom0 --preset pv-dom0"),
    "guest pv-dom0 is given twice",
  );
  const nine = Array.from({ length: 9 }, (_, i) => `--guest g${i}.toml`).join(" ");
  assertStringIncludes(err(`compare ok.txt ${nine}`), "at most 8 guests, not 9");
  assertStringIncludes(
    err(`compare ok.txt ${two} --preset nosuch`),
    'compare: guest nosuch: Unknown preset "nosuch"',
  );
  assertStringIncludes(err(`compare ok.txt ${two} --guest bad.toml`), "Bad guest setting mode = 7");
  assertStringIncludes(err(`compare nothere.txt ${two}`), "Cannot read script nothere.txt");
  assertStringIncludes(err(`compare ok.txt ${two} --swiotlb 4Q`), "4Q");
});

Deno.test("compare: the guests write no files", () => {
  const files = memFiles({ "/lab/w.txt": "tree --dot t.dot\nrecord r.txt\n" });
  const s = new Session({ cwd: "/lab", files, json: true });
  const out = JSON.parse(runLine(s, "compare w.txt --preset arm-dom0 --preset pvh-dom0").output[0]);
  for (const c of out.commands) {
    for (const a of c.answers) assertStringIncludes(a.error, "compare's guests write no files");
  }
  assertEquals([...files.files.keys()], ["/lab/w.txt"]);
});

Deno.test("compare is bounded: the answers it keeps, and Ctrl-C", () => {
  // 8 guests share the answer budget; each `slots` of a 64 MiB pool is ~150 KB of JSON.
  const files = memFiles({
    "/lab/s.txt": "slots\n".repeat(60),
    "/lab/a.toml": 'preset = "arm-dom0"\nseed = 2\n',
    "/lab/b.toml": 'preset = "pv-dom0"\nseed = 2\n',
  });
  const live = ["pv-dom0", "pv-domu-passthrough", "arm-dom0", "arm-dom0-smmu", "pvh-dom0-iommu"];
  const eight = [...live, "pvh-dom0"].map((p) => `--preset ${p}`).join(" ") +
    " --guest a.toml --guest b.toml";
  const text = runLine(new Session({ cwd: "/lab", files }), `compare s.txt ${eight}`).output;
  for (const g of [...live, "a.toml", "b.toml"]) {
    const m = text.map((l) =>
      new RegExp(`^${g} stopped after (\\d+) commands: its answers reached the most compare keeps`)
        .exec(l)
    ).find((x) => x);
    if (!m) throw new Error(`${g} did not stop at the budget:\n${text.slice(-9).join("\n")}`);
    assert(Number(m[1]) > 0 && Number(m[1]) < 60, m[0]);
  }
  // pvh-dom0 panicked at init: its refusals are short, it ran the whole script.
  assert(!text.some((l) => l.startsWith("pvh-dom0 stopped")));
  // Ctrl-C stops the compare, in the middle of a guest or between two.
  for (const after of [2, 4]) {
    let polls = 0;
    const interrupt = { pending: () => ++polls > after, clear: () => {} };
    const c = new Session({ cwd: "/lab", files, interrupt });
    const r = runLine(c, "compare s.txt --preset arm-dom0 --preset pv-dom0");
    assertEquals(r.error, "compare: interrupted (Ctrl-C); nothing to show");
  }
});

Deno.test("compare completes: presets, files and flags", () => {
  const s = new Session({ cwd: root });
  assertEquals(complete(s, "compa"), [["compare "], "compa"]);
  assertEquals(complete(s, "compare x.txt --preset arm-dom0-s"), [
    ["arm-dom0-smmu "],
    "arm-dom0-s",
  ]);
  assertEquals(complete(s, "compare x.txt --preset pv-dom0 --g"), [["--guest "], "--g"]);
  assertEquals(complete(s, "compare examples/compare/m"), [
    ["examples/compare/map-lookup.txt "],
    "examples/compare/m",
  ]);
});

Deno.test("compare's table shows at most 200 rows and counts the rest", () => {
  const files = memFiles({ "/lab/m.txt": "guest presets\nlookup bus 0x1000\n".repeat(150) });
  const s = new Session({ cwd: "/lab", files });
  const text = runLine(s, "compare m.txt --preset arm-dom0 --preset pv-dom0").output;
  assertStringIncludes(text[0], "300 commands, 150 answered differently, 150 the same");
  assertEquals(text.filter((l) => /^│ \d+: lookup bus/.test(l)).length, 150);
  const all = runLine(s, "compare m.txt --preset arm-dom0 --preset pv-dom0 --all").output;
  assertEquals(all.filter((l) => /^│ \d+: /.test(l)).length, 200);
  assertEquals(all.at(-1), "… 100 more rows not shown (at most 200; --json has all)");
});

Deno.test("compare works after a repeat stopped by Ctrl-C at the prompt", () => {
  // One Ctrl-C, raised while the repeat runs; forgotten once cleared (as the CLI's flag is).
  let polls = 0;
  let raised = false;
  const interrupt = {
    pending: () => (raised ||= ++polls === 5),
    clear: () => void (raised = false),
  };
  const s = new Session({ cwd: root, interrupt });
  assert(runLine(s, "guest new --preset arm-dom0 --swiotlb 1M").ok);
  const r = runLine(s, "repeat 100 tree --validate");
  assertStringIncludes(String(r.error), "repeat: interrupted (Ctrl-C) after 4 of 100");
  const c = runLine(s, `compare ${SCRIPT} --preset pv-dom0 --preset arm-dom0`);
  assert(c.ok, c.error);
  // The Ctrl-C is forgotten for every later command, not only the first.
  assert(runLine(s, `compare ${SCRIPT} --preset pv-dom0 --preset arm-dom0`).ok);
});
