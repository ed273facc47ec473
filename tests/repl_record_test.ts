/**
 * `record FILE`: a recorded session replays to the same answers and the same state, when
 * recording starts with the session and when it starts in the middle (issue 12, item 4).
 * Each top-level line's answer is compared with the replay of exactly the lines it added
 * to the file (the file grows line by line as the session runs), in text and in JSON.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { complete, runLine, runScriptFile, Session } from "../lib/repl/mod.ts";
import type { LineResult } from "../lib/repl/mod.ts";
import { HISTORY_MAX_CHARS } from "../lib/repl/record.ts";
import { memFiles } from "./_mem_files.ts";

const FILES = {
  // A sourced file with a nested source, a failure its script expects, and coherent memory.
  "/lab/sub.txt": [
    "# a sourced file",
    "alloc-coherent nic 16K",
    "free-coherent nic $bus 16K",
    "unmap nic 0x7000000 4K to",
    'expect error "not"',
    "source inner.txt",
  ].join("\n"),
  "/lab/inner.txt":
    "buf alloc tx 4K\nbuf write tx --pattern 5a\nmap nic tx 4K to\nunmap nic $bus 4K to\n",
  // A sourced file that fails (no expect error): the session goes on, the source failed.
  "/lab/bad.txt": "map nic rx 8K to\nmap nic nosuchbuf 4K to\nstats\n",
  "/lab/g.toml": 'preset = "arm-dom0"\nswiotlb = "1M"\npolicy = "faithful"\n',
};

/** Commands that make a state worth rebuilding (run before a mid-session `record`). */
const SETUP = [
  "set radix 10",
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
  "buf write rx de:ad:be:ef",
  "map nic rx 8K bidi",
  "debug filter nic",
  "unmap nic $bus 4K bidi",
  'expect error "mapped with"',
];

/** A varied session: DMA, failures, expects, settings, sources, guest files, new guests. */
const SESSION = [
  "dma write nic $bus ca:fe",
  "sync nic $bus 8K bidi --for cpu",
  "expect bytes rx 0 ca:fe",
  "unmap nic $bus 8K bidi",
  "expect bounced", // fails: unmap answers no "bounced"
  "set radix 16",
  "trace on",
  "map-sg nic rx:0:4K rx:4K:4K to",
  "trace off",
  "lookup bus $bus",
  "lookup phys $phys",
  "mpa nic rx",
  "source sub.txt",
  "source bad.txt",
  "buf alloc huge 512K",
  "map nic huge 512K to", // fails, and counts a failed map
  "expect stat failed_maps 1",
  "slots 0",
  "tree --validate",
  "stats",
  "debug",
  "guest load g.toml",
  "device add nic --mask 32",
  "buf alloc rx 8K",
  "map nic rx 8K to",
  "unmap nic $bus 8K to",
  "unmap nic $bus 8K to", // faithful: a double unmap, UB
  "stats",
  "debug off",
  "guest new --preset pv-dom0 --swiotlb 1M",
  "device add nic --mask 30",
  "buf alloc big 64K",
  "map nic big 64K to",
  "expect ok",
  "stats",
  "guest show",
];

/** The lines `record` added to `path` since `before` characters. */
function added(files: Map<string, string>, path: string, before: number): string[] {
  const text = (files.get(path) ?? "").slice(before);
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** The synthesized line after a failed command. */
const WENT_ON = /^expect error .*# the session went on after this error$/;

/**
 * What a line answered, as the comparison sees it: everything but where it ran (a
 * script error starts with FILE:LINE, which is the recording's own place on replay).
 */
function answer(r: LineResult, json: boolean): { output: string[]; json: unknown } {
  const output = r.output.map((l) =>
    json ? l.replace(/,"where":"[^"]*"/, "") : l.replace(/^\S+:\d+: (?=error: )/, "")
  );
  const { where: _where, ...rest } = r.json ?? {};
  return { output, json: json || r.json === undefined ? undefined : rest };
}

/**
 * Runs `before`, then `record FILE`, then `lines`, recording; replays the file in a fresh
 * session and checks every answer and the final state.
 */
function recordAndReplay(before: readonly string[], lines: readonly string[], json: boolean) {
  const files = memFiles(FILES);
  const s = new Session({ cwd: "/lab", files, json });
  for (const l of before) assert(runLine(s, l).ok || l.startsWith("unmap"), l);
  const start = runLine(s, "record rec.txt");
  assert(start.ok, start.error);
  const chunks: { line: string; r: LineResult; added: string[] }[] = [];
  let size = files.files.get("/lab/rec.txt")!.length;
  for (const line of lines) {
    const r = runLine(s, line);
    chunks.push({ line, r, added: added(files.files, "/lab/rec.txt", size) });
    size = files.files.get("/lab/rec.txt")!.length;
  }
  const text = files.files.get("/lab/rec.txt")!;
  const all = text.replace(/\n$/, "").split("\n");
  const started = all.indexOf("# recording started");
  assert(started > 0, text);

  // The replay: the state first, then each line's chunk, answer by answer.
  const replay = new Session({ cwd: "/elsewhere", files: memFiles(), json });
  for (const l of all.slice(0, started)) {
    const r = runLine(replay, l);
    assert(r.ok || WENT_ON.test(all[all.indexOf(l) + 1] ?? ""), `state line ${l}: ${r.error}`);
  }
  for (const { line, r, added } of chunks) {
    const got = added.map((l) => ({ l, r: runLine(replay, l) }));
    const commands = got.filter(({ l }) => !l.startsWith("#") && !WENT_ON.test(l));
    for (const { l, r } of got) {
      if (WENT_ON.test(l)) assert(r.ok, `${l}: ${r.error}`);
    }
    if (line.startsWith("source ")) {
      assertEquals(added[0], `# ${line}`);
      // The file's commands answer what the source printed (less its own last line).
      const own = json ? 1 : r.ok ? 1 : r.output.length - r.output.indexOf(`error: ${r.error}`);
      const nested = commands.flatMap(({ r }) => answer(r, json).output);
      // A nested source's own summary is not replayed: its commands are.
      const summary = (l: string) =>
        json ? "source" in JSON.parse(l) : /^\(\S+: \d+ commands ok\)$/.test(l);
      const printed = answer(r, json).output.slice(0, r.output.length - own).filter((l) =>
        !summary(l)
      );
      assertEquals(nested, printed, line);
      continue;
    }
    if (!r.ok && line.startsWith("expect ")) {
      assertEquals(added.length, 1, line);
      assert(added[0].startsWith("# failed when recorded"), added[0]);
      continue;
    }
    assertEquals(commands.length, 1, `${line} → ${added.join(" | ")}`);
    const want = answer(r, json);
    const have = answer(commands[0].r, json);
    if (line.startsWith("guest load")) {
      // Written as the guest new line it made: the same guest, less the file's name.
      assertEquals(commands[0].l.startsWith("guest new --preset arm-dom0"), true);
      const { file, ...rest } = r.json!;
      assertEquals(file, "g.toml");
      assertEquals(commands[0].r.json, rest);
      if (!json) assertEquals(have.output, want.output);
      continue;
    }
    assertEquals(have, want, line);
    if (!r.ok) assert(WENT_ON.test(added[1]), `${line} is followed by its expect error`);
  }
  // The same state: guest, counters, debug layer, slots, tree, variables, settings.
  for (const l of ["guest show", "stats", "debug", "slots", "tree", "segments"]) {
    assertEquals(runLine(replay, l).json, runLine(s, l).json, l);
  }
  assertEquals([...replay.vars], [...s.vars]);
  assertEquals([replay.fmt.radix, replay.debug, replay.trace], [s.fmt.radix, s.debug, s.trace]);
  // And the file runs green as a script (every `expect error` it wrote holds).
  const again = new Session({ cwd: "/lab", files: memFiles({ "/lab/rec.txt": text }) });
  const run = runScriptFile(again, "rec.txt", { keepGoing: false, runLine });
  assert(run.ok, run.output.filter((l) => l.startsWith("error")).join("\n"));
  assertEquals(runLine(again, "stats").json, runLine(s, "stats").json);
  return { text, chunks };
}

for (const json of [false, true]) {
  const mode = json ? "--json" : "text";
  Deno.test(`record from the start: the replay gives every answer again (${mode})`, () => {
    const { text } = recordAndReplay([], [...SETUP, ...SESSION], json);
    // Nothing ran before: the state is the settings alone (the default radix is left as it
    // is: `set radix 16` would make the replay read bare numbers as hex).
    assertEquals(
      text.split("\n").filter((l) => !l.startsWith("#")).slice(0, 4),
      ["debug on", "trace off", "explain off", "set radix 10"],
    );
  });

  Deno.test(`record mid-session: the state is rebuilt first, then every answer (${mode})`, () => {
    const { text } = recordAndReplay(SETUP, SESSION, json);
    const state = text.slice(0, text.indexOf("# recording started")).split("\n");
    // The settings as they were when the guest was made, then the commands since.
    assertEquals(state.filter((l) => l !== "" && !l.startsWith("#")), [
      "set radix 10",
      "debug on",
      "trace off",
      "explain off",
      ...SETUP.slice(1, -2),
      "unmap nic $bus 4K bidi",
      'expect error "bus 1048576: unmap of slot 0 (6443499520) with 4096 bytes, b"  # the session went on after this error',
      'expect error "mapped with"',
    ]);
  });
}

Deno.test("record mid-session after a new guest: only the commands since it", () => {
  const { text } = recordAndReplay(
    [...SETUP, "trace on", "guest new --preset pv-dom0 --swiotlb 1M", "trace off"],
    ["device add nic --mask 32", "buf alloc rx 8K", "map nic rx 4K to", "stats"],
    false,
  );
  const state = text.slice(0, text.indexOf("# recording started")).split("\n");
  assertEquals(state.filter((l) => l !== "" && !l.startsWith("#")), [
    "set radix 10",
    "debug on",
    "trace on",
    "explain off",
    "guest new --preset pv-dom0 --swiotlb 1M",
    "trace off",
  ]);
});

Deno.test("record: off, status, quit, refusals, and record is never written", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files, json: true });
  const status = (line: string) => runLine(s, line).json!;
  assertEquals(status("record").recording, false);
  assertEquals(status("record off").recording, false);
  assert(runLine(s, "record a.txt").ok);
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
  assertEquals(status("record").commands, 1);
  const again = runLine(s, "record b.txt");
  assertStringIncludes(String(again.error), "Already recording to a.txt: 'record off' first");
  // `record` leaves `expect` the command before it.
  assert(runLine(s, "expect init ok").ok);
  runLine(s, "record");
  assert(runLine(s, "expect field swiotlb_xen true").ok);
  const off = status("record off");
  assertEquals([off.recording, off.commands, off.path], [false, 3, "/lab/a.txt"]);
  assert(!files.files.get("/lab/a.txt")!.includes("\nrecord"), "record lines are not written");
  // record ./off writes a file named off; quit ends the recording.
  assert(runLine(s, "record ./off").ok);
  runLine(s, "stats");
  assert(runLine(s, "quit").quit);
  assertEquals(status("record").recording, false);
  const off2 = files.files.get("/lab/off")!.split("\n");
  assertEquals(off2.slice(-3), ["stats", "# quit: the recording ends here", ""]);
  // A file that cannot be written is the user's error, naming the path and the verb.
  const denied = runLine(new Session({ cwd: "/nowhere" }), "record sub/r.txt");
  assertEquals(denied.error, "Cannot write record sub/r.txt: no directory /nowhere/sub");
});

Deno.test("record: a write that fails later stops the recording and says why", () => {
  const files = memFiles();
  let fail = false;
  const flaky = {
    ...files,
    appendText: (p: string, t: string) => {
      if (fail) throw new Deno.errors.PermissionDenied("denied");
      files.appendText(p, t);
    },
  };
  const s = new Session({ cwd: "/lab", files: flaky });
  runLine(s, "record r.txt");
  assert(runLine(s, "guest presets").ok);
  fail = true;
  const r = runLine(s, "guest presets");
  assert(r.ok, "the command itself still ran");
  assertStringIncludes(r.output.join("\n"), "warning: recording stopped: Cannot write record");
  assertEquals(runLine(s, "record").json?.recording, false);
});

Deno.test("record completes: the verb, off, and files", () => {
  const s = new Session({ cwd: Deno.makeTempDirSync() });
  Deno.writeTextFileSync(`${s.cwd}/old.txt`, "");
  assertEquals(complete(s, "reco"), [["record "], "reco"]);
  assertEquals(complete(s, "record o")[0].sort(), ["off", "old.txt"]);
  assertEquals(complete(s, "record of"), [["off "], "of"]);
  Deno.removeSync(s.cwd, { recursive: true });
});

Deno.test("record: the session keeps at most 16 MiB of commands to rebuild its state", () => {
  const s = new Session({ cwd: "/lab", files: memFiles() });
  // An unknown command as long as the whole budget (it is kept with its error).
  assert(!runLine(s, "x" + "y".repeat(HISTORY_MAX_CHARS)).ok);
  const r = runLine(s, "record r.txt");
  assertStringIncludes(String(r.error), "Cannot record from here: the commands since the guest");
  // A new guest starts a new history: recording from there works.
  runLine(s, "guest new --preset arm-dom0 --swiotlb 1M");
  assert(runLine(s, "record r.txt").ok);
});

Deno.test("record mid-session after thousands of lines: every one, in order, as typed", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files });
  const typed = ["guest new --preset pv-dom0 --swiotlb 1M", "device add nic --mask 64"];
  typed.push("buf alloc rx 4K");
  // Blocks of lines that succeeded, a failure between them (kept with its expect), a line
  // with a newline in it (one line in the file) and a comment-only line (nothing kept).
  for (let i = 0; i < 2500; i++) typed.push(i % 2 ? "unmap nic $bus 4K to" : "map nic rx 4K to");
  typed.push("map nic ghost 4K to", "set radix 10\n", "# a comment");
  for (let i = 0; i < 1500; i++) typed.push(i % 2 ? "unmap nic $bus 4K to" : "map nic rx 4K to");
  for (const l of typed) runLine(s, l);
  assert(runLine(s, "record /lab/r.txt").ok);
  const lines = files.files.get("/lab/r.txt")!.split("\n");
  const start = lines.indexOf(typed[0]);
  const end = lines.indexOf("# recording started");
  const want = typed.filter((l) => !l.startsWith("#")).flatMap((l) =>
    l === "map nic ghost 4K to"
      ? [
        l,
        'expect error "Unknown buffer \\"ghost\\": buffers are rx"  # the session went on after this error',
      ]
      : l === "set radix 10\n"
      ? ["set radix 10 "]
      : [l]
  );
  assertEquals(lines.slice(start, end), want);
  // And the file replays to the same state.
  const replay = new Session({ cwd: "/lab", files });
  const r = runScriptFile(replay, "/lab/r.txt", { keepGoing: false, runLine });
  assertEquals([r.ok, replay.fmt.radix], [true, 10]);
});
