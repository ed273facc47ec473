/**
 * Every examples/*.txt runs green through the script runner, in process: each is
 * self-checking with `expect` lines, so "green" means every expectation held. The same
 * script in `--json` mode prints exactly one JSON object per command.
 */

import { assert, assertEquals } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { runLine, runScriptFile, Session } from "../lib/repl/mod.ts";

const root = fromFileUrl(new URL("../", import.meta.url));
const dir = new URL("../examples/", import.meta.url);
const scripts = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".txt"))
  .map((e) => e.name)
  .sort();

Deno.test("the examples the REPL promises are all there", () => {
  for (
    const name of [
      "first-bounce",
      "pv-fastpath",
      "iommu-no-swiotlb",
      "interval-lookup",
      "at-zero",
      "pvh-zero",
      "fixup-retry",
      "wrong-size-unmap",
      "named-guests",
    ]
  ) {
    assert(scripts.includes(`${name}.txt`), `examples/${name}.txt is missing`);
  }
});

for (const name of scripts) {
  Deno.test(`example ${name} runs green`, () => {
    const text = Deno.readTextFileSync(new URL(name, dir));
    assert(
      /^# \S+\.txt — /.test(text),
      `${name} starts with a header comment saying what it shows`,
    );
    assert(/^expect /m.test(text), `${name} checks itself with expect lines`);
    const s = new Session({ cwd: root });
    const r = runScriptFile(s, `examples/${name}`, { keepGoing: true, runLine });
    assert(
      r.ok,
      `${r.errors} error(s):\n${r.output.filter((l) => l.startsWith("error")).join("\n")}`,
    );
    assert(!r.output.some((l) => /^\s+at .*:\d+:\d+/.test(l)), "no stack traces");
  });

  Deno.test(`example ${name} --json: one object per command`, () => {
    const s = new Session({ cwd: root, json: true });
    const r = runScriptFile(s, `examples/${name}`, { keepGoing: true, runLine });
    // A repeat prints one object per iteration before its own.
    const loops = r.output.map((l) => JSON.parse(l)).filter((o) => "repeat" in o)
      .reduce((n, o) => n + o.ran, 0);
    assertEquals(r.output.length, r.commands + loops);
    for (const line of r.output) {
      const obj = JSON.parse(line);
      assertEquals(typeof obj, "object");
      if ("ok" in obj && "expected" in obj) assert(obj.ok, line);
    }
  });
}
