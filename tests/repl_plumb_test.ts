/**
 * Output plumbing (issue 13): `| grep`, `| head`, `| tail`, chains, `> FILE` and
 * `>> FILE` on the text answer, quoting, --json, scripts and sources, the errors found
 * before a command runs, and Session.writeOutput's write and append modes.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { join } from "@std/path";
import {
  cmdTable,
  complete,
  type FileAccess,
  parseLine,
  runLine,
  runScriptText,
  Session,
} from "../lib/repl/mod.ts";
import { LabError } from "../lib/errors.ts";
import { fileText, pipeLines, splitPlumbing } from "../lib/repl/plumb.ts";
import { HELP_TOPICS } from "../lib/repl/help_topics.ts";
import { tokenize } from "../lib/repl/tokenize.ts";

const ARM = "guest new --preset arm-dom0 --swiotlb 1M";
const NIC = [ARM, "device add nic --mask 32", "buf alloc rx 8K"];

/** An in-memory file system. */
function memFiles(): FileAccess & { files: Map<string, string> } {
  const files = new Map<string, string>();
  return {
    files,
    readText: (p) => {
      const t = files.get(p);
      if (t === undefined) throw new Deno.errors.NotFound(p);
      return t;
    },
    writeText: (p, t) => void files.set(p, t),
    appendText: (p, t) => void files.set(p, (files.get(p) ?? "") + t),
    exists: (p) => files.has(p),
    stat: (p) => ({ kind: "file", size: files.get(p)?.length ?? 0 }),
  };
}

Deno.test("Session.writeOutput truncates, or appends (creating the file), relative to the invocation directory", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-plumb-" });
  try {
    const s = new Session({ cwd: dir });
    assertEquals(s.writeOutput("a.txt", "one\n", ">"), join(dir, "a.txt"));
    s.writeOutput("a.txt", "two\n", ">>", { append: true });
    s.writeOutput("new.txt", "x\n", ">>", { append: true });
    assertEquals(Deno.readTextFileSync(join(dir, "a.txt")), "one\ntwo\n");
    assertEquals(Deno.readTextFileSync(join(dir, "new.txt")), "x\n");
    s.writeOutput("a.txt", "three\n", ">");
    assertEquals(Deno.readTextFileSync(join(dir, "a.txt")), "three\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Session.writeOutput appends through the session's FileAccess", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files });
  s.writeOutput("log.txt", "a\n", ">>", { append: true });
  s.writeOutput("log.txt", "b\n", ">>", { append: true });
  assertEquals(files.files.get("/lab/log.txt"), "a\nb\n");
});

Deno.test("Session.writeOutput: a missing directory or a directory is the user's error, naming path and flag", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-plumb-" });
  try {
    const s = new Session({ cwd: dir });
    const e = assertThrows(
      () => s.writeOutput("/no/such/dir/x.txt", "", ">>", { append: true }),
      LabError,
    );
    assertEquals(e.message, "Cannot write >> /no/such/dir/x.txt: no directory /no/such/dir");
    assertEquals([e.kind, e.code], ["usage", "file"]);
    const d = assertThrows(() => s.writeOutput(".", "", ">"), LabError);
    assertStringIncludes(d.message, "Cannot write > .: it is a directory");
    assert(!Deno.readDirSync(dir).next().value, "nothing was written");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

function session(json = false, files: FileAccess = memFiles()): Session {
  return new Session({ json, cwd: "/lab", files, color: false });
}

/** Runs setup lines (each must succeed) in a fresh session. */
function ready(lines: readonly string[], json = false, files = memFiles()): Session {
  const s = session(json, files);
  for (const l of lines) assert(runLine(s, l).ok, l);
  return s;
}

/** The text answer of `line` without plumbing, in a session set up like `s`'s would be. */
function answer(setup: readonly string[], line: string): string[] {
  const r = runLine(ready(setup), line);
  assert(r.ok, r.error);
  return r.output;
}

Deno.test("| grep keeps the matching lines, | head and | tail cut, and they chain left to right", () => {
  const all = answer(NIC, "segments");
  const s = ready(NIC);
  const grep = runLine(s, "segments | grep 0x1");
  assert(grep.ok, grep.error);
  assertEquals(grep.output, all.filter((l) => l.includes("0x1")));
  assert(grep.output.length >= 4 && grep.output.length < all.length, grep.output.join("\n"));
  assertEquals(runLine(s, "segments | head 2").output, all.slice(0, 2));
  assertEquals(runLine(s, "segments | head -n 3").output, all.slice(0, 3));
  assertEquals(runLine(s, "segments | head -1").output, all.slice(0, 1));
  assertEquals(runLine(s, "segments | tail 1").output, all.slice(-1));
  assertEquals(runLine(s, "segments | tail 0").output, []);
  assertEquals(
    runLine(s, "segments|grep 0x1|head 2").output,
    all.filter((l) => l.includes("0x1")).slice(0, 2),
  );
  assertEquals(
    runLine(s, "segments | head 5 | tail 2 | grep -v ─").output,
    all.slice(3, 5).filter((l) => !l.includes("─")),
  );
  const help = answer([], "help");
  assertEquals(runLine(s, "help | head").output, help.slice(0, 10), "head without N: 10 lines");
  assertEquals(runLine(s, "help | tail").output, help.slice(-10));
});

Deno.test("grep: a regular expression; -F plain text, -i, -v, -c; $bus is the address as printed", () => {
  const s = ready([...NIC, "map nic rx 8K to"]);
  const all = answer([...NIC, "map nic rx 8K to"], "segments");
  assertEquals(
    runLine(s, "segments | grep '^│ [02] '").output,
    all.filter((l) => /^│ [02] /.test(l)),
  );
  assertEquals(runLine(s, "segments | grep '^│ [02] '").output.length, 2);
  // As a regex "0x1.0000" matches 0x140000 and friends; as plain text nothing has a dot.
  assert(runLine(s, "segments | grep 0x1.0000").output.length > 0);
  assertEquals(runLine(s, "segments | grep -F 0x1.0000").output, []);
  assertEquals(runLine(s, "segments | grep -F '[+'").output, []);
  assertEquals(runLine(s, "segments | grep SEG").output, []);
  assertEquals(runLine(s, "segments | grep -i SEG").output, all.filter((l) => l.includes("seg")));
  assertEquals(runLine(s, "segments | grep -v 0x").output, all.filter((l) => !l.includes("0x")));
  assertEquals(runLine(s, "segments | grep -vc 0x").output, [
    String(all.filter((l) => !l.includes("0x")).length),
  ]);
  assertEquals(runLine(s, "segments | grep -c yes").output, ["4"]);
  assertEquals(runLine(s, "segments | grep -- -0x").output, all.filter((l) => l.includes("-0x")));
  // $bus is 0x100000 here: the address as the answers print it, in the session's radix.
  assertEquals(
    runLine(s, "segments | grep $bus").output,
    all.filter((l) => l.includes("0x100000")),
  );
  assertEquals(runLine(s, "segments | grep $bus+0x40000").output.length, 1);
  assertEquals(runLine(s, "segments | grep '$bus'").output, [], "quoted: a regex");
  runLine(s, "set radix 10");
  assertEquals(runLine(s, "segments | grep $bus | head 1").output, [
    answer([...NIC, "map nic rx 8K to", "set radix 10"], "segments")
      .find((l) => l.includes("1048576-1310719")),
  ]);
});

Deno.test("pipeLines: grep matches the text without its colours and keeps them in the line", () => {
  const lines = ["\x1b[1mB\x1b[22m [0x140000,+256K)", "\x1b[31mR\x1b[39m [0x1c0000,+256K)"];
  const env = { vars: new Map(), num: (x: number | bigint) => x.toString(16) };
  const stages = splitPlumbing(tokenize("x | grep '^B \\[0x14'"), env).plumbing!.stages;
  assertEquals(pipeLines(stages, lines), [lines[0]]);
  assertEquals(fileText(lines), "B [0x140000,+256K)\nR [0x1c0000,+256K)\n");
});

Deno.test('quoting: | and > inside quotes are text; buf write rx "a|b>c" writes those bytes', () => {
  const s = ready(NIC);
  const w = runLine(s, 'buf write rx "a|b>c"');
  assert(w.ok, w.error);
  assertStringIncludes(w.output[0], "61:7c:62:3e:63");
  assertStringIncludes(runLine(s, "buf read rx 0 5").output.join("\n"), "|a|b>c|");
  const fixed = runLine(s, "buf read rx 0 5 | grep -F 'a|b>'").output;
  assertEquals(fixed.length, 1);
  assertStringIncludes(fixed[0], "|a|b>c|");
  // In a pattern's quotes, | is the regex's alternation: "zz" or "b>".
  assertEquals(runLine(s, 'buf read rx 0 5 | grep "zz|b>"').output, fixed);
  const files = memFiles();
  const t = ready(NIC, false, files);
  assert(runLine(t, 'segments > "my out.txt"').ok);
  assert(files.files.has("/lab/my out.txt"));
});

Deno.test("> FILE writes the text answer (colourless) and says so; >> appends; relative to the invocation directory", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files, color: true });
  for (const l of NIC) runLine(s, l);
  const plain = answer(NIC, "segments");
  const r = runLine(s, "segments > seg.txt");
  assert(r.ok, r.error);
  assertEquals(r.output.length, 1);
  assertStringIncludes(r.output[0], `wrote ${plain.length} lines to seg.txt`);
  assertEquals(files.files.get("/lab/seg.txt"), plain.join("\n") + "\n");
  assert(!files.files.get("/lab/seg.txt")!.includes("\x1b"), "no colours in the file");
  const a = runLine(s, "segments | grep -c yes >> seg.txt");
  assertStringIncludes(a.output[0], "appended 1 line to seg.txt");
  assertEquals(files.files.get("/lab/seg.txt"), plain.join("\n") + "\n4\n");
  runLine(s, "tree --inorder | tail 2 > seg.txt");
  assertEquals(
    files.files.get("/lab/seg.txt"),
    answer(NIC, "tree --inorder").slice(-2).join("\n") + "\n",
  );
  runLine(s, "segments | grep nothing-matches > empty.txt");
  assertEquals(files.files.get("/lab/empty.txt"), "");
  runLine(s, "segments > /abs/s.txt");
  assertEquals(files.files.get("/abs/s.txt"), plain.join("\n") + "\n");
});

Deno.test("> FILE on the real disk: truncate, append, a missing directory refused before the command runs", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-plumb-" });
  try {
    const s = new Session({ cwd: dir });
    for (const l of NIC) assert(runLine(s, l).ok, l);
    assert(runLine(s, "segments | head 1 > out.txt").ok);
    assert(runLine(s, "segments | head 1 >> out.txt").ok);
    assert(runLine(s, "tree --inorder>>out.txt").ok);
    const first = answer(NIC, "segments")[0];
    assertEquals(
      Deno.readTextFileSync(join(dir, "out.txt")),
      [first, first, ...answer(NIC, "tree --inorder")].join("\n") + "\n",
    );
    // The file is opened first: a map redirected into a missing directory is not made.
    const bad = runLine(s, "map nic rx 8K to > /no/such/dir/x.txt");
    assert(!bad.ok);
    assertEquals(bad.error, "Cannot write > /no/such/dir/x.txt: no directory /no/such/dir");
    assertEquals(bad.verb, "map");
    assertEquals(runLine(s, "stats | grep maps").output[0].trim(), "maps                   0");
    const dot = runLine(s, "tree --dot /no/such/dir/x.dot");
    assertEquals(
      dot.error,
      "Cannot write tree --dot /no/such/dir/x.dot: no directory /no/such/dir",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a failed command is not piped: its error stays on the screen, > has emptied the file", () => {
  const files = memFiles();
  const s = ready(NIC, false, files);
  files.files.set("/lab/old.txt", "old\n");
  const r = runLine(s, "map nic ghost 8K to | grep nothing > old.txt");
  assert(!r.ok);
  assertStringIncludes(r.output[0], "error: ");
  assertEquals(files.files.get("/lab/old.txt"), "", "like a shell, > empties the file first");
  assert(runLine(s, "expect error ghost").ok, "expect error sees the command's own failure");
});

Deno.test("expect after a piped or redirected command checks the command's own result", () => {
  const s = ready(NIC);
  const m = runLine(s, "map nic rx 8K to | grep nothing-matches");
  assert(m.ok);
  assertEquals(m.output, []);
  for (const e of ["expect bounced", "expect slot 0", "expect bus 0x100000"]) {
    assert(runLine(s, e).ok, e);
  }
  assert(runLine(s, "segments > s.txt").ok);
  assert(runLine(s, "expect field count 4").ok);
  assert(runLine(s, 'expect log "0x100000"').ok, "expect log reads the whole answer");
});

Deno.test("plumbing errors are found before the command runs, and are no 'unknown command'", () => {
  const s = ready(NIC);
  const cases: [string, string][] = [
    ["map nic rx 8K to | sort", "'| sort': a line pipes only into grep, head and tail"],
    ["map nic rx 8K to |", "nothing after '|'"],
    ["map nic rx 8K to | grep", "grep needs a PATTERN"],
    ["map nic rx 8K to | grep a b", "grep takes one PATTERN, not 2 words"],
    ["map nic rx 8K to | grep -x a", "grep: unknown option '-x'"],
    ["map nic rx 8K to | grep (", 'grep: Cannot use "(" as a regular expression'],
    ["map nic rx 8K to | grep $nope", "$nope is not set"],
    ["map nic rx 8K to | head x", 'head: Cannot use "x" as a count of lines'],
    ["map nic rx 8K to | tail 1 2", "tail takes one count of lines"],
    ["map nic rx 8K to >", "give a file name after '>'"],
    ["map nic rx 8K to > a b", "'>' takes one file name, not 2 words"],
    ["map nic rx 8K to > a | grep x", "'> FILE' must end the line"],
    ["map nic rx 8K to > a > b", "'> FILE' must end the line"],
    ["| grep x", "nothing before '|'"],
    ["> x", "nothing before '>'"],
  ];
  for (const [line, want] of cases) {
    const r = runLine(s, line);
    assert(!r.ok, line);
    assertStringIncludes(r.error!, want, line);
    assertEquals(r.json?.code, want.includes("not set") ? "bad-number" : "pipe", line);
  }
  assertEquals(
    runLine(s, "stats | grep '^  maps '").output,
    ["  maps                   0"],
    "no map",
  );
  assertStringIncludes(runLine(s, "mpa | sort").error!, "unknown command 'mpa'");
  const script =
    "segments | sort\nsegments | grep (\nsegments > a b\nsegments | head x\nsegments\n";
  const r = runScriptText(s, script, "t.txt", { keepGoing: true, runLine });
  assertEquals([r.errors, r.commands], [4, 5], "bad pipes do not make a file 'not a script'");
});

Deno.test("--json: still one object per command, with the piped lines or where they went", () => {
  const files = memFiles();
  const s = ready(NIC, true, files);
  const text = answer(NIC, "segments");
  const one = (line: string) => {
    const r = runLine(s, line);
    assertEquals(r.output.length, 1, line);
    return JSON.parse(r.output[0]);
  };
  const g = one("segments | grep 0x14 | head 1");
  assertEquals(g.count, 4, "the command's own object");
  assertEquals(g.plumbing, {
    pipe: ["grep 0x14", "head 1"],
    text: text.filter((l) => l.includes("0x14")).slice(0, 1),
  });
  const w = one("segments > seg.txt");
  assertEquals(w.plumbing, { pipe: [], file: "seg.txt", append: false, lines: text.length });
  assertEquals(w.segments.length, 4);
  assertEquals(files.files.get("/lab/seg.txt"), text.join("\n") + "\n", "the file gets the text");
  assertEquals(one("segments | grep -c yes >> seg.txt").plumbing.append, true);
  const e = one("segments | sort");
  assertEquals(e.code, "pipe");
  assertStringIncludes(e.error, "'| sort'");
  assertEquals(runLine(s, "# a | comment > x").output, []);
});

Deno.test("source FILE > OUT sends the nested commands' answers too; in scripts the same as at the prompt", () => {
  const files = memFiles();
  files.files.set("/lab/inner.txt", "segments | grep -c yes\ntree --inorder | head 1\n");
  const s = ready(NIC, false, files);
  const r = runLine(s, "source inner.txt > all.txt");
  assert(r.ok, r.error);
  assertEquals(r.output.length, 1);
  assertEquals(
    files.files.get("/lab/all.txt"),
    ["4", answer(NIC, "tree --inorder")[0], "(inner.txt: 2 commands ok)"].join("\n") + "\n",
  );
  const script = [
    "segments | head 2 > a.txt",
    "expect field count 4",
    "segments | tail 1 >> a.txt",
    "segments | grep -c used",
  ].join("\n");
  const out = runScriptText(ready(NIC, false, files), script, "s.txt", {
    keepGoing: false,
    runLine,
  });
  assert(out.ok, out.output.join("\n"));
  const seg = answer(NIC, "segments");
  assertEquals(
    files.files.get("/lab/a.txt"),
    [...seg.slice(0, 2), ...seg.slice(-1)].join("\n") + "\n",
  );
  assertEquals(out.output.at(-1), "1");
});

Deno.test("VERB --help | grep pipes the help page", () => {
  const s = session();
  assertEquals(runLine(s, "map --help | grep -c Examples:").output, ["1"]);
});

Deno.test("help redirect: every example parses with its plumbing, and the ones that run answer", () => {
  const topic = HELP_TOPICS.find((t) => t.name === "redirect")!;
  for (const e of topic.examples) {
    const s = new Session({ color: false, files: memFiles(), cwd: "/lab" });
    for (const l of e.setup ?? []) assert(runLine(s, l).ok, `setup of "${e.line}": ${l}`);
    const parsed = parseLine(e.line, s.vars);
    assert(parsed?.plumbing !== undefined, `"${e.line}" shows no pipe or redirection`);
    assert(parsed && cmdTable().includes(parsed.spec), e.line);
    if (e.run === false) continue;
    const r = runLine(s, e.line);
    assert(r.ok, `${e.line}: ${r.error}`);
    assert(r.output.length > 0, `"${e.line}" answers nothing`);
  }
  const s = session();
  const page = runLine(s, "help redirect").output.join("\n");
  for (const w of ["| grep", "| head", "| tail", "> FILE", ">> FILE", "set pager off"]) {
    assertStringIncludes(page, w);
  }
  assertEquals(runLine(s, "help grep").output, runLine(s, "help redirect").output);
  assertStringIncludes(runLine(s, "help").output.join("\n"), "(help redirect)");
  assertStringIncludes(runLine(s, "help redirec").error!, "did you mean 'redirect'");
  assertEquals(JSON.parse(runLine(session(true), "help pipe").output[0]).topic, "redirect");
});

Deno.test("Tab after | offers grep, head and tail (and grep's flags); after > or >> a file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-plumb-" });
  try {
    Deno.writeTextFileSync(join(dir, "notes.txt"), "");
    const s = new Session({ cwd: dir });
    assertEquals(complete(s, "segments |"), [["grep", "head", "tail"], ""]);
    assertEquals(complete(s, "segments | grep x | h"), [["head "], "h"]);
    assertEquals(complete(s, "segments | grep -"), [["-i", "-v", "-F", "-c"], "-"]);
    assertEquals(complete(s, "segments | head "), [[], ""]);
    assertEquals(complete(s, "segments > no"), [["notes.txt "], "no"]);
    assertEquals(complete(s, "segments>>no"), [["notes.txt "], "no"]);
    assertEquals(complete(s, 'buf write rx "a|'), [[], "a|"], "a quoted | is no pipe");
    assertEquals(complete(s, "segm"), [["segments "], "segm"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
