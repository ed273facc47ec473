/** The prompt's history file: private, bounded, never followed through a symlink. */

import { assert, assertEquals } from "@std/assert";
import { join } from "@std/path";
import { HistoryFile } from "../lib/repl/history.ts";

function tmp(): string {
  return Deno.makeTempDirSync({ prefix: "swiotlb-history-" });
}

Deno.test("history: a new file is created 0600", () => {
  const dir = tmp();
  const path = join(dir, "h");
  const h = new HistoryFile(path);
  h.load();
  h.add("guest presets");
  assertEquals(Deno.readTextFileSync(path), "guest presets\n");
  if (Deno.build.os !== "windows") assertEquals(Deno.statSync(path).mode! & 0o777, 0o600);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("history: kept to its limit when saved, newest lines last", () => {
  const dir = tmp();
  const path = join(dir, "h");
  Deno.writeTextFileSync(path, Array.from({ length: 25 }, (_, i) => `old ${i}`).join("\n") + "\n");
  const h = new HistoryFile(path, 10);
  assertEquals(h.load(), Array.from({ length: 10 }, (_, i) => `old ${i + 15}`));
  h.add("new");
  const lines = Deno.readTextFileSync(path).trim().split("\n");
  assertEquals(lines.length, 10);
  assertEquals(lines.at(-1), "new");
  for (let i = 0; i < 30; i++) h.add(`more ${i}`);
  const after = Deno.readTextFileSync(path).trim().split("\n");
  assert(after.length < 20, `${after.length} lines`);
  assertEquals(after.at(-1), "more 29");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("history: a symlink is neither read nor written through", () => {
  if (Deno.build.os === "windows") return;
  const dir = tmp();
  const target = join(dir, "secret");
  Deno.writeTextFileSync(target, "do not touch\n");
  const link = join(dir, "h");
  Deno.symlinkSync(target, link);
  const h = new HistoryFile(link);
  assertEquals(h.load(), []);
  h.add("guest presets");
  assertEquals(Deno.readTextFileSync(target), "do not touch\n");
  Deno.removeSync(dir, { recursive: true });
});
