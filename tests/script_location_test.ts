/**
 * Every error in a script, nested sources included, starts with FILE:LINE, the JSON
 * error object carries `where`, and the run's summary names the first one (issue 13).
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { fromFileUrl } from "@std/path";
import { runLine, Session } from "../lib/repl/mod.ts";
import { runScriptText } from "../lib/repl/script.ts";

const root = fromFileUrl(new URL("../", import.meta.url));

function withFiles(files: Record<string, string>, f: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb_loc_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      Deno.writeTextFileSync(`${dir}/${name}`, text);
    }
    f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const FILES = {
  "outer.txt":
    "# outer\nguest new --preset arm-dom0 --swiotlb 1M\nsource inner.txt\nmap nic rx 4K to\n",
  "inner.txt": "device add nic --mask 32\n\nmpa nic rx 4K to\nexpect slot 3\n",
};

Deno.test("script errors: each starts with FILE:LINE, nested sources with their own file", () => {
  withFiles(FILES, (dir) => {
    const s = new Session({ cwd: dir, keepGoing: true });
    const r = runScriptText(
      s,
      FILES["outer.txt"],
      "outer.txt",
      { keepGoing: true, runLine },
      `${dir}/outer.txt`,
    );
    const errors = r.output.filter((l) => l.includes("error: "));
    assertEquals(errors.map((l) => l.slice(0, l.indexOf(": error: "))), [
      "inner.txt:3",
      "inner.txt:4",
      "outer.txt:3",
      "outer.txt:4",
    ]);
    assertStringIncludes(errors[0], "unknown command 'mpa'");
    assertStringIncludes(errors[2], "the first error at inner.txt:3");
    assertEquals(r.firstError, "inner.txt:3");
  });
});

Deno.test("script errors: --json carries where; at the prompt there is none", () => {
  withFiles(FILES, (dir) => {
    const s = new Session({ cwd: dir, json: true, keepGoing: true });
    const r = runScriptText(
      s,
      "guest new --preset arm-dom0 --swiotlb 1M\nexpect init failed\n",
      "x.txt",
      {
        keepGoing: true,
        runLine,
      },
    );
    const err = JSON.parse(r.output[1]);
    assertEquals(err.where, "x.txt:2");
    assertStringIncludes(err.error, "expectation failed: expected init failed");
    const prompt = runLine(s, "mpa");
    assertEquals(JSON.parse(prompt.output[0]).where, undefined);
  });
});

Deno.test("repl.ts: the summary line names the first error", () => {
  withFiles(FILES, (dir) => {
    const out = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}repl.ts`, "--keep-going", "outer.txt"],
      cwd: dir,
      env: { INIT_CWD: dir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assertEquals(out.code, 1);
    assertEquals(
      new TextDecoder().decode(out.stderr).trim(),
      "outer.txt: 2 error(s) in 3 command(s); the first at inner.txt:3",
    );
    assertStringIncludes(
      new TextDecoder().decode(out.stdout),
      "inner.txt:3: error: unknown command 'mpa'",
    );
  });
});
