/**
 * `record` writes what replays: a failure that came from the machine the session ran on
 * (a file it could not write or read) is not an `expect error` the replay would break on,
 * and an `expect` of a command the replay does not run is not replayed either.
 */

import { assert, assertEquals } from "@std/assert";
import { runLine, runScriptFile, Session } from "../lib/repl/mod.ts";
import type { FileAccess } from "../lib/repl/mod.ts";
import { memFiles } from "./_mem_files.ts";

/** Files that refuse every write under /ro (as a run without --allow-write there does). */
function readOnlyUnder(files: FileAccess): FileAccess {
  const refuse = (p: string) => {
    if (p.startsWith("/ro/")) throw new Deno.errors.PermissionDenied(`write ${p}`);
  };
  return {
    ...files,
    writeText: (p, t) => (refuse(p), files.writeText(p, t)),
    appendText: (p, t) => (refuse(p), files.appendText(p, t)),
  };
}

/** Runs `lines` recording to /lab/rec.txt; the file's text. */
function record(files: FileAccess, before: string[], lines: string[]): string {
  const s = new Session({ cwd: "/lab", files });
  for (const l of before) assert(runLine(s, l).ok, l);
  assert(runLine(s, "record rec.txt").ok);
  for (const l of lines) runLine(s, l);
  runLine(s, "record off");
  return files.readText("/lab/rec.txt");
}

/** Replays `text` as a script where every file can be written and `extra` exist. */
function replay(text: string, extra: Record<string, string> = {}) {
  const files = memFiles({ "/lab/rec.txt": text, ...extra });
  const s = new Session({ cwd: "/lab", files });
  const r = runScriptFile(s, "rec.txt", { keepGoing: false, runLine });
  return { s, r, files: files.files };
}

const SETUP = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "buf alloc rx 8K",
];

Deno.test("record: a command refused for a file is not replayed as an expected error", () => {
  const files = memFiles();
  const text = record(readOnlyUnder(files), SETUP, [
    "map nic rx 4K to",
    "tree --dot /ro/t.dot", // Cannot write --dot /ro/t.dot: permission denied
    'expect error "Cannot write"', // the user's own check of it
    "guest load missing.toml", // Cannot read guest file missing.toml
    "stats > /ro/s.txt", // the redirection cannot be opened: stats never ran
    "expect ok",
    "unmap nic $bus 4K to",
  ]);
  const commands = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  assert(!commands.some((l) => l.startsWith("expect error")), text);
  assert(!commands.some((l) => /\/ro\/|missing\.toml/.test(l)), text);
  // Replayed where the file can be written and the guest file exists, it stays green, and
  // writes nothing and loads nothing the session did not.
  const { s, r, files: written } = replay(text, {
    "/lab/missing.toml": 'preset = "pv-dom0"\n',
  });
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals(s.guest!.config.name, "arm-dom0");
  assertEquals(s.guest!.stats().maps, 1);
  assertEquals(s.guest!.stats().core_unmaps, 1);
  assertEquals([...written.keys()].filter((p) => p.startsWith("/ro")), []);
});

Deno.test("repeat: refused, it is the command expect checks; an iteration's failure replays", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files });
  for (const l of SETUP) assert(runLine(s, l).ok, l);
  assert(runLine(s, "record rec.txt").ok);
  assert(runLine(s, "map nic rx 4K to").ok);
  assert(!runLine(s, "repeat 5000000 stats").ok);
  // The map before it succeeded: this expect checks the refused repeat.
  const e = runLine(s, 'expect error "repeat: at most 100000 times"');
  assert(e.ok, e.error);
  // Unmapping a handle never mapped fails in the first iteration: the loop stops there.
  assert(!runLine(s, "repeat 3 unmap nic 0x7000000+$i*4K 4K to").ok);
  runLine(s, "record off");
  const { s: again, r } = replay(files.readText("/lab/rec.txt"));
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals(again.guest!.stats(), s.guest!.stats());
});

Deno.test("record: a repeat stopped by Ctrl-C is written as the iterations that ran", () => {
  // One Ctrl-C, raised `after` polls from when it is armed, forgotten once cleared.
  let countdown = -1;
  let raised = false;
  const interrupt = {
    pending: () => (raised ||= --countdown === 0),
    clear: () => void (raised = false),
  };
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files, interrupt });
  for (const l of SETUP) assert(runLine(s, l).ok, l);
  assert(runLine(s, "record rec.txt").ok);
  countdown = 6;
  const r = runLine(s, "repeat 100 map nic rx+$i*16 16 to");
  assertEquals(r.error, "repeat: interrupted (Ctrl-C) after 5 of 100");
  // The user checks it; the replay, which does not stop there, does not.
  assert(runLine(s, 'expect error "interrupted"').ok);
  assert(runLine(s, "stats").ok);
  // Stopped before its first iteration: nothing to replay.
  countdown = 1;
  assert(!runLine(s, "repeat 10 map nic rx 16 to").ok);
  // Stopped inside a nested loop, where a replay cannot stop: not replayed, said so.
  countdown = 7;
  assertEquals(
    runLine(s, "repeat 3 repeat 4 stats").error,
    "repeat: interrupted (Ctrl-C) inside iteration $i = 1 (of 3)",
  );
  // Stopped between two of its iterations, a nested loop is exact again.
  countdown = 6;
  assertEquals(
    runLine(s, "repeat 3 repeat 4 stats").error,
    "repeat: interrupted (Ctrl-C) after 1 of 3",
  );
  runLine(s, "record off");
  const text = files.readText("/lab/rec.txt");
  assert(text.includes("\nrepeat 5 map nic rx+$i*16 16 to\n"), text);
  assert(text.includes("\n# not replayed (repeat: interrupted (Ctrl-C) after 0 of 10): repeat 10"));
  assert(text.includes("the state may differ from here): repeat 3 repeat 4 stats\n"), text);
  assert(text.includes("\nrepeat 1 repeat 4 stats\n"), text);
  const { s: again, r: run } = replay(text);
  assert(run.ok, run.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals(again.guest!.stats().maps, 5);
  assertEquals(again.guest!.stats(), s.guest!.stats());
  assertEquals(runLine(again, "slots").json, runLine(s, "slots").json);
});

Deno.test("record: guest load --name is written as a guest new line with that name", () => {
  const files = memFiles({ "/lab/g.toml": 'preset = "arm-dom0"\nswiotlb = "1M"\n' });
  const text = record(files, ["guest new --preset pv-dom0 --swiotlb 1M"], [
    "guest load g.toml --name arm",
    "device add nic --mask 32",
    "guest use main",
  ]);
  const { s, r } = replay(text);
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals([...s.guests.keys()], ["main", "arm"]);
  assertEquals(s.guests.get("arm")!.devices().map((d) => d.name), ["nic"]);
  assertEquals(s.guestName, "main");
});

/** The state lines of a recording: the commands before "# recording started". */
function stateOf(text: string): string[] {
  return text.slice(0, text.indexOf("# recording started")).split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Records `after` following `before`, replays it, and checks it rebuilt every guest. */
function recordGuests(before: string[], after: string[]): string[] {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files });
  for (const l of before) assert(runLine(s, l).ok, l);
  assert(runLine(s, "record rec.txt").ok);
  for (const l of after) assert(runLine(s, l).ok, l);
  runLine(s, "record off");
  const text = files.readText("/lab/rec.txt");
  const { s: again, r } = replay(text);
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals([...again.guests.keys()], [...s.guests.keys()]);
  assertEquals(again.guestName, s.guestName);
  for (const [name, g] of s.guests) {
    const h = again.guests.get(name)!;
    assertEquals([h.config, h.stats()], [g.config, g.stats()], name);
    assertEquals(h.devices().map((d) => d.name), g.devices().map((d) => d.name), name);
  }
  return stateOf(text);
}

const THREE = [
  "guest new --preset arm-dom0 --swiotlb 1M",
  "device add nic --mask 32",
  "help map",
  "guest new --preset pv-dom0 --swiotlb 1M --name other",
  "buf alloc x 4K",
  "guest drop main",
  "expect field dropped main", // checks the drop: left out with it
  "guest new --preset arm-dom0 --swiotlb 1M --name gap",
  "device add d --mask 64",
];

Deno.test("record with named guests: the state starts at the oldest guest it needs", () => {
  // main is gone and nothing acted on it after other was made: from other's guest new,
  // without main's drop.
  assertEquals(recordGuests(THREE, ["guest use other", "buf alloc y 4K"]).slice(3), [
    "guest new --preset pv-dom0 --swiotlb 1M --name other",
    "buf alloc x 4K",
    "guest new --preset arm-dom0 --swiotlb 1M --name gap",
    "device add d --mask 64",
  ]);
  // Only gap is left: from its guest new.
  assertEquals(recordGuests([...THREE, "guest drop other"], ["stats"]).slice(3), [
    "guest new --preset arm-dom0 --swiotlb 1M --name gap",
    "device add d --mask 64",
  ]);
});

Deno.test("record with named guests: a guest acted on later keeps its commands", () => {
  // main was used after b was made: the replay needs it from its own guest new.
  const used = [
    "guest new --preset arm-dom0 --swiotlb 1M",
    "guest new --preset pv-dom0 --swiotlb 1M --name b",
    "guest use main",
    "device add z --mask 32",
    "guest use b",
    "guest drop main",
  ];
  assertEquals(recordGuests(used, ["stats"]).slice(3), used);
  // guest list shows every guest: one it listed is acted on.
  const listed = [
    "guest new --preset arm-dom0 --swiotlb 1M",
    "guest new --preset pv-dom0 --swiotlb 1M --name b",
    "guest list",
    "guest drop main",
  ];
  assertEquals(recordGuests(listed, ["stats"]).slice(3), listed);
  // A guest new without --name takes the current name ("b" here), which a replay starting
  // at it would not: the history goes back to a guest made under its own name.
  const unnamed = [
    "guest new --preset arm-dom0 --swiotlb 1M",
    "guest new --preset pv-dom0 --swiotlb 1M --name b",
    "guest drop b",
    "guest new --preset pv-dom0 --swiotlb 1M",
    "guest drop main",
  ];
  assertEquals(recordGuests(unnamed, ["stats"]).slice(3), unnamed);
});

Deno.test("record: a redirected command is replayed without its redirection", () => {
  const files = memFiles();
  const text = record(files, SETUP, [
    "map nic rx 4K to > /lab/m.txt", // the map happens; its answer goes to the file
    "expect bounced",
    "stats | grep maps >> /lab/m.txt",
    "map nic nosuch 4K to > /lab/m.txt", // fails: never piped, the error shows
  ]);
  assert(text.includes("\nmap nic rx 4K to\n"), text);
  assert(text.includes("\nstats | grep maps\n"), text);
  const { s, r, files: written } = replay(text);
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals(s.guest!.stats().maps, 1);
  assertEquals([...written.keys()], ["/lab/rec.txt"]);
});

Deno.test("record: explain on before the guest was made is part of the state", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files });
  for (const l of ["explain on", ...SETUP, "record rec.txt"]) assert(runLine(s, l).ok, l);
  assert(runLine(s, "map nic rx 4K to").ok);
  runLine(s, "record off");
  const { s: again } = replay(files.readText("/lab/rec.txt"));
  // The next map tells its slot search as the session's does.
  const want = runLine(s, "map nic rx 4K to").output;
  assert(want.some((l) => l.startsWith("explain: slot search")), want.join("\n"));
  assertEquals(runLine(again, "map nic rx 4K to").output, want);
});

Deno.test("record: a repeat of the most lines the prompt allows replays in the script", () => {
  const files = memFiles();
  const text = record(files, SETUP, [
    "map nic rx 4K to",
    "repeat 100000 lookup bus 0x100000+$i",
    "expect ok",
  ]);
  const { s, r } = replay(text);
  assert(r.ok, r.output.filter((l) => l.includes("error")).join("\n"));
  assertEquals(s.guest!.stats().lookups, 100_000);
});
