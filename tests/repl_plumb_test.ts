/**
 * Output plumbing (issue 13): Session.writeOutput's write and append modes, and its
 * errors in the user's words.
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { join } from "@std/path";
import { type FileAccess, Session } from "../lib/repl/mod.ts";
import { LabError } from "../lib/errors.ts";

/** An in-memory file system without appendText (the session reads and rewrites). */
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
    exists: (p) => files.has(p),
    stat: (p) => ({ kind: "file", size: files.get(p)?.length ?? 0 }),
  };
}

Deno.test("Session.writeOutput truncates, or appends (creating the file), relative to the invocation directory", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-plumb-" });
  try {
    const s = new Session({ cwd: dir });
    assertEquals(s.writeOutput("a.txt", "one\n", ">"), join(dir, "a.txt"));
    s.writeOutput("a.txt", "two\n", ">>", true);
    s.writeOutput("new.txt", "x\n", ">>", true);
    assertEquals(Deno.readTextFileSync(join(dir, "a.txt")), "one\ntwo\n");
    assertEquals(Deno.readTextFileSync(join(dir, "new.txt")), "x\n");
    s.writeOutput("a.txt", "three\n", ">");
    assertEquals(Deno.readTextFileSync(join(dir, "a.txt")), "three\n");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("Session.writeOutput appends through a FileAccess without appendText", () => {
  const files = memFiles();
  const s = new Session({ cwd: "/lab", files });
  s.writeOutput("log.txt", "a\n", ">>", true);
  s.writeOutput("log.txt", "b\n", ">>", true);
  assertEquals(files.files.get("/lab/log.txt"), "a\nb\n");
});

Deno.test("Session.writeOutput: a missing directory or a directory is the user's error, naming path and flag", () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-plumb-" });
  try {
    const s = new Session({ cwd: dir });
    const e = assertThrows(() => s.writeOutput("/no/such/dir/x.txt", "", ">>", true), LabError);
    assertEquals(e.message, "Cannot write >> /no/such/dir/x.txt: no directory /no/such/dir");
    assertEquals([e.kind, e.code], ["usage", "file"]);
    const d = assertThrows(() => s.writeOutput(".", "", ">"), LabError);
    assertStringIncludes(d.message, "Cannot write > .: it is a directory");
    assert(!Deno.readDirSync(dir).next().value, "nothing was written");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
