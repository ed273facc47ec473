/**
 * Ctrl-R at the prompt (issue 13), through the same key stream and readline as the real
 * prompt: typing narrows, Ctrl-R goes older, Backspace goes back a step, Enter runs the
 * match, Esc / Ctrl-G put the old line back, other keys edit the match, Ctrl-C drops it.
 */

import { assert, assertEquals } from "@std/assert";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import { KeyInput } from "../lib/repl/keys.ts";
import { ReverseSearch, searchPrompt } from "../lib/repl/reverse_search.ts";

/** History as readline keeps it: newest first. */
const HISTORY = ["stats", "guest presets", "buf alloc rx 8K", "guest new --preset arm-dom0"];

/** A prompt with {@link HISTORY}, its search, and what it ran and printed. */
function prompt() {
  const source = Object.assign(new PassThrough(), { setRawMode: (_: boolean) => {} });
  const keys = new KeyInput(source);
  const output = Object.assign(new PassThrough(), { columns: 80 });
  let written = "";
  output.on("data", (c: Uint8Array) => written += new TextDecoder().decode(c));
  const rl = createInterface({
    input: keys,
    output,
    prompt: "swiotlb> ",
    terminal: true,
    history: [...HISTORY],
    escapeCodeTimeout: 5,
  });
  const search = new ReverseSearch(rl);
  keys.attach(rl, search.key);
  const ran: string[] = [];
  rl.on("line", (l: string) => ran.push(l));
  let sigints = 0;
  rl.on("SIGINT", () => sigints++);
  /** Types `keys` and lets them (and an Esc's timeout) through. */
  const type = async (keys: string) => {
    source.write(keys);
    await new Promise((r) => setTimeout(r, 20));
  };
  return { rl, search, type, ran, sigints: () => sigints, written: () => written };
}

const CTRL_R = "\x12";
const CTRL_G = "\x07";
const BACKSPACE = "\x7f";

Deno.test("reverse search: typing narrows to the newest line holding the text", async () => {
  const p = prompt();
  await p.type(CTRL_R);
  assert(p.search.active);
  assertEquals(p.rl.getPrompt(), "(reverse-i-search)'': ");
  await p.type("gu");
  assertEquals([p.rl.getPrompt(), p.rl.line], [searchPrompt("gu", false), "guest presets"]);
  assertEquals(p.rl.cursor, 0, "the cursor sits on the match");
  assert(p.written().includes("(reverse-i-search)'gu': guest presets"), p.written());
  p.rl.close();
});

Deno.test("reverse search: Ctrl-R goes older, Backspace back a step, failure keeps the match", async () => {
  const p = prompt();
  await p.type(CTRL_R + "gu" + CTRL_R);
  assertEquals(p.rl.line, "guest new --preset arm-dom0");
  await p.type(CTRL_R);
  assertEquals([p.rl.getPrompt(), p.rl.line], [
    "(failed reverse-i-search)'gu': ",
    "guest new --preset arm-dom0",
  ]);
  await p.type(BACKSPACE);
  assertEquals([p.rl.getPrompt(), p.rl.line], [
    searchPrompt("gu", false),
    "guest new --preset arm-dom0",
  ]);
  await p.type(BACKSPACE);
  assertEquals(p.rl.line, "guest presets");
  await p.type("zz");
  assertEquals([p.rl.getPrompt(), p.rl.line], [searchPrompt("guzz", true), "guest presets"]);
  p.rl.close();
});

Deno.test("reverse search: a longer text keeps the current match while it still holds it", async () => {
  const p = prompt();
  // "e" first finds "guest presets"; Ctrl-R moves on to "guest new --preset arm-dom0";
  // "s" narrows to "es", which that line still holds, so it stays there, though the newer
  // "guest presets" holds "es" too (bash does the same).
  await p.type(CTRL_R + "e" + CTRL_R);
  assertEquals(p.rl.line, "guest new --preset arm-dom0");
  await p.type("s");
  assertEquals([p.rl.getPrompt(), p.rl.line], [
    searchPrompt("es", false),
    "guest new --preset arm-dom0",
  ]);
  assertEquals(p.rl.cursor, "guest new --preset arm-dom0".lastIndexOf("es"));
  p.rl.close();
});

Deno.test("reverse search: Enter runs the match with the prompt back", async () => {
  const p = prompt();
  await p.type(CTRL_R + "alloc\r");
  assertEquals(p.ran, ["buf alloc rx 8K"]);
  assert(!p.search.active);
  assertEquals(p.rl.getPrompt(), "swiotlb> ");
  assert(p.written().includes("swiotlb> buf alloc rx 8K"), "the line is shown as run");
  p.rl.close();
});

Deno.test("reverse search: Esc and Ctrl-G put back the line from before the search", async () => {
  for (const cancel of ["\x1b", CTRL_G]) {
    const p = prompt();
    await p.type("stat\x1b[D");
    await p.type(CTRL_R + "arm");
    assertEquals(p.rl.line, "guest new --preset arm-dom0");
    await p.type(cancel);
    assertEquals([p.rl.getPrompt(), p.rl.line, p.rl.cursor], ["swiotlb> ", "stat", 3]);
    assertEquals(p.ran, []);
    p.rl.close();
  }
});

Deno.test("reverse search: another key keeps the match on the line and acts on it", async () => {
  const p = prompt();
  await p.type(CTRL_R + "presets");
  await p.type("\x05"); // Ctrl-E: end of line
  assertEquals([p.rl.getPrompt(), p.rl.line], ["swiotlb> ", "guest presets"]);
  await p.type(" x");
  assertEquals(p.rl.line, "guest presets x");
  assertEquals(p.ran, []);
  p.rl.close();
});

Deno.test("reverse search: Ctrl-C leaves it and the prompt drops the line", async () => {
  const p = prompt();
  await p.type(CTRL_R + "stats\x03");
  assert(!p.search.active);
  assertEquals(p.sigints(), 1);
  assertEquals(p.rl.getPrompt(), "swiotlb> ");
  assertEquals(p.ran, []);
  p.rl.close();
});

Deno.test("reverse search: Ctrl-R on an empty text searches for the last one again", async () => {
  const p = prompt();
  await p.type(CTRL_R + "buf" + CTRL_G);
  await p.type(CTRL_R + CTRL_R);
  assertEquals([p.rl.getPrompt(), p.rl.line], [searchPrompt("buf", false), "buf alloc rx 8K"]);
  p.rl.close();
});

Deno.test("reverse search: a line run from the prompt is found by the next search", async () => {
  const p = prompt();
  await p.type("device add nic --mask 32\r");
  await p.type(CTRL_R + "nic\r");
  assertEquals(p.ran, ["device add nic --mask 32", "device add nic --mask 32"]);
  p.rl.close();
});
