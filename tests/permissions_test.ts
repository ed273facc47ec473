/**
 * The README's "Permissions" section is true: `deno task repl` grants what it lists and no
 * more, never prompts, writes relative output files where it was started, and a denied
 * write is the user's error naming the path and the flag.
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { fromFileUrl, join } from "@std/path";

const root = fromFileUrl(new URL("..", import.meta.url));
const task: string = JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).tasks.repl;
const readme = Deno.readTextFileSync(join(root, "README.md"));

Deno.test("permissions: the repl task's grants are the README's", () => {
  const env = /--allow-env=(\S+)/.exec(task)?.[1].split(",") ?? [];
  const section = readme.slice(readme.indexOf("## Permissions"), readme.indexOf("## Examples"));
  const listed = [...section.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]);
  assertEquals(env.sort(), listed.sort());
  assertStringIncludes(task, "--no-prompt");
  assertStringIncludes(task, "--allow-write=$INIT_CWD,$HOME/.swiotlb_lab_history ");
  assert(!/--allow-(write|env)(\s|$)/.test(task), "no unscoped write or env grant");
});

Deno.test("permissions: a relative output file lands where the repl was started; outside is refused", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "swiotlb-perm-" });
  const home = Deno.makeTempDirSync({ prefix: "swiotlb-home-" });
  // The task's own flags, with the variables deno task would expand.
  const flags = task.replace(/^deno run /, "").replace(/ repl\.ts$/, "")
    .replaceAll("$INIT_CWD", dir).replaceAll("$HOME", home).split(" ");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, join(root, "repl.ts"), "--keep-going", "--no-history"],
    cwd: root,
    // A fresh HOME for the history grant; the module cache stays the one this run uses.
    env: {
      INIT_CWD: dir,
      HOME: home,
      NO_COLOR: "1",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? home, ".cache", "deno"),
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(
    [
      "record r.txt",
      "guest new --preset arm-dom0 --swiotlb 1M",
      "tree --dot t.dot",
      `tree --dot ${home}/x.dot`,
      // Outside the grant too, but the first thing to fix is the missing directory.
      "tree --dot /no/such/dir/x.dot",
      "record off",
      `record ${home}/r.txt`,
      "segments | head 3 > s.txt",
      "segments >> s.txt",
      `segments > ${home}/m.txt`,
    ].join("\n") + "\n",
  ));
  await w.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(Deno.statSync(join(dir, "t.dot")).isFile, text);
  assertStringIncludes(text, `error: Cannot write tree --dot ${home}/x.dot: permission denied`);
  // record appends each command where the repl was started, and names a denied path.
  // (a command that writes a file is recorded, not replayed)
  assertStringIncludes(
    Deno.readTextFileSync(join(dir, "r.txt")),
    "\n# not replayed (it writes a file): tree --dot t.dot\n",
  );
  assertStringIncludes(text, `error: Cannot write record ${home}/r.txt: permission denied`);
  assertStringIncludes(
    text,
    "error: Cannot write tree --dot /no/such/dir/x.dot: no directory /no/such/dir\n",
  );
  assert(!text.includes("internal error"), text);
  // `segments` answers 10 lines here: 3, then 10 more appended, each ending in a newline.
  assertEquals(Deno.readTextFileSync(join(dir, "s.txt")).split("\n").length, 3 + 10 + 1);
  assertStringIncludes(text, `error: Cannot write > ${home}/m.txt: permission denied`);
  assert(!text.includes("Cannot prompt"), text);
  Deno.removeSync(dir, { recursive: true });
  Deno.removeSync(home, { recursive: true });
});
