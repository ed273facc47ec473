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

Deno.test("source: a failed source names its own first error, not an earlier one outside it", () => {
  withFiles({
    "in.txt": "bogus\n",
    "out.txt": "guest new --preset arm-dom0 --swiotlb 256K\nbogus2\nsource in.txt\n",
  }, (dir) => {
    const s = new Session({ cwd: dir, keepGoing: true });
    const r = runScriptText(
      s,
      "guest new --preset arm-dom0 --swiotlb 256K\nbogus2\nsource in.txt\n",
      "out.txt",
      {
        keepGoing: true,
        runLine,
      },
      `${dir}/out.txt`,
    );
    const last = r.output.filter((l) => l.includes("error: ")).at(-1)!;
    assertEquals(
      last,
      "out.txt:3: error: source in.txt: the script failed (the first error at in.txt:1)",
    );
    assertEquals(r.firstError, "out.txt:2");
  });
});

Deno.test("writeOutput: a refusal names its real cause (the system, the grant, a missing directory)", () => {
  // A file system that refuses as /proc does (ENOENT although the directory is there),
  // as Deno's grant does (NotCapable), and as the OS does (EACCES).
  const refusals: Record<string, Error> = {
    "/proc/x.html": new Deno.errors.NotFound(
      "No such file or directory (os error 2): writefile '/proc/x.html'",
    ),
    "/etc/x.html": new Deno.errors.NotCapable('Requires write access to "/etc/x.html"'),
    "/ro/x.html": new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
  };
  const files = {
    readText: () => "",
    writeText: (p: string) => {
      throw refusals[p] ?? new Deno.errors.NotFound(p);
    },
    appendText: () => {},
    exists: (p: string) => ["/proc", "/etc", "/ro"].includes(p),
    stat: (p: string) => {
      if (["/proc", "/etc", "/ro"].includes(p)) return { kind: "directory" as const, size: 0 };
      throw new Deno.errors.NotFound(p);
    },
  };
  const s = new Session({ cwd: "/tmp", files });
  const why = (f: string) => runLine(s, `report ${f}`).error!;
  assertStringIncludes(why("/proc/x.html"), "the system refused it (no such file or directory)");
  assertStringIncludes(why("/etc/x.html"), "permission denied (deno task repl may write only");
  assertStringIncludes(why("/ro/x.html"), "permission denied by the system");
  assertStringIncludes(why("/no/such/dir/x.html"), "no directory /no/such/dir");
});
