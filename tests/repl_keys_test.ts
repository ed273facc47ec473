/**
 * The prompt's key stream and cursor measure (issue 13): {@link KeyInput} gives readline the
 * printable characters of one chunk as one key and everything else as before;
 * {@link rememberCursorPos} answers exactly what readline's own measure answers.
 */

import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { createInterface, Interface, type Key } from "node:readline";
import { PassThrough } from "node:stream";
import { rememberCursorPos } from "../lib/repl/cursor_pos.ts";
import { isPrintable, type KeyHandler, KeyInput, lineState } from "../lib/repl/keys.ts";

/** A terminal's output: what readline wrote, and a width readline wraps at (0: none). */
function terminalOut(columns: number) {
  const out = Object.assign(new PassThrough(), { columns });
  let text = "";
  out.on("data", (c: Uint8Array) => text += new TextDecoder().decode(c));
  return { out, written: () => text, clear: () => void (text = "") };
}

/** readline reading a {@link KeyInput} fed from a stream the test writes to. */
function prompt(
  columns: number,
  completer?: (line: string) => [string[], string],
  handler?: KeyHandler,
) {
  const source = Object.assign(new PassThrough(), { setRawMode: (_: boolean) => {} });
  const keys = new KeyInput(source);
  const term = terminalOut(columns);
  const rl = createInterface({
    input: keys,
    output: term.out,
    prompt: "> ",
    terminal: true,
    completer,
  });
  keys.attach(rl, handler);
  const seen: [string | undefined, Key][] = [];
  keys.on("keypress", (s: string | undefined, k: Key) => seen.push([s, k]));
  return { source, keys, rl, term, seen };
}

/** Lets the key decoder and the end-of-chunk flush run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("isPrintable: characters readline inserts, not keys it acts on", () => {
  assert(isPrintable("a", { sequence: "a", name: "a" }));
  assert(isPrintable(" ", { sequence: " ", name: "space" }));
  assert(isPrintable("漢😀", { sequence: "漢😀" }));
  assert(!isPrintable("\t", { sequence: "\t", name: "tab" }));
  assert(!isPrintable("\x12", { sequence: "\x12", name: "r", ctrl: true }));
  assert(!isPrintable(undefined, { sequence: "\x1bb", name: "b", meta: true }));
  assert(!isPrintable("\x7f", { sequence: "\x7f", name: "backspace" }));
  assert(!isPrintable("a\x9bb", { sequence: "a\x9bb" }));
});

Deno.test("KeyInput: the printable characters of a chunk reach readline as one key", async () => {
  const { source, rl, seen } = prompt(80);
  source.write("buf write rx ab:cd\x1b[Dx");
  await settle();
  // The run, the left arrow, then the last character: readline edits as before.
  assertEquals(seen.map(([s, k]) => s ?? k.name), ["buf write rx ab:cd", "left", "x"]);
  assertEquals(rl.line, "buf write rx ab:cxd");
  rl.close();
});

Deno.test("KeyInput: a Tab inside a pasted chunk is inserted; one at its end completes", async () => {
  const { source, rl } = prompt(80, (line) => [["guest"].filter((c) => c.startsWith(line)), line]);
  source.write("gu\tx");
  await settle();
  assertEquals(rl.line, "gu\tx");
  rl.write(null, { ctrl: true, name: "u" });
  source.write("gu\t");
  await settle();
  assertEquals(rl.line, "guest");
  rl.close();
});

Deno.test("KeyInput: a handler sees each key first and may keep it from readline", async () => {
  const handled: string[] = [];
  const { source, rl, seen } = prompt(80, undefined, (s, k) => {
    handled.push(s ?? String(k.name));
    return k.ctrl === true && k.name === "r";
  });
  source.write("ab\x12c");
  await settle();
  assertEquals(handled, ["ab", "\x12", "c"]);
  assertEquals(seen.map(([s]) => s), ["ab", "c"]);
  assertEquals(rl.line, "abc");
  rl.close();
});

Deno.test("KeyInput: after a paste that wrapped, the next redraw starts on the prompt's row", async () => {
  const { source, rl, term } = prompt(20);
  // "> " and 50 characters: the cursor ends on the third row, column 12.
  source.write("x".repeat(50));
  await settle();
  assertEquals(rl.getCursorPos(), { cols: 12, rows: 2 });
  term.clear();
  source.write("\x7f");
  await settle();
  // Backspace redraws: up two rows to the prompt first (readline counted none before).
  assert(term.written().startsWith("\x1b[2A"), JSON.stringify(term.written()));
  assertEquals(rl.line, "x".repeat(49));
  rl.close();
});

/** One change to readline's prompt, line, cursor or width. */
type Op =
  | { op: "append"; text: string }
  | { op: "delete"; n: number }
  | { op: "move"; to: number }
  | { op: "prompt"; text: string }
  | { op: "columns"; n: number };

const CHARS = ["a", "b", " ", ":", "\t", "漢", "é", "e\u0301", "😀", "\x1b[31m", "\x1b"];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.string({ unit: fc.constantFrom("a", "m", "3", "[", " ", ":"), maxLength: 30 })
      .map((
        text,
      ) => ({ op: "append" as const, text })),
    weight: 6,
  },
  {
    arbitrary: fc.array(fc.constantFrom(...CHARS), { maxLength: 3 }).map((cs) => ({
      op: "append" as const,
      text: cs.join(""),
    })),
    weight: 2,
  },
  {
    arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => ({ op: "delete" as const, n })),
    weight: 2,
  },
  { arbitrary: fc.nat({ max: 200 }).map((to) => ({ op: "move" as const, to })), weight: 2 },
  {
    arbitrary: fc.constantFrom("> ", "swiotlb> ", "(reverse-i-search)'a': ", "\x1b[1m$\x1b[0m ")
      .map((text) => ({ op: "prompt" as const, text })),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom(0, 7, 20, 80).map((n) => ({ op: "columns" as const, n })),
    weight: 1,
  },
);

Deno.test("rememberCursorPos: answers as readline's own measure after any edits", () => {
  const measure = Interface.prototype.getCursorPos;
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const term = terminalOut(20);
      const rl = createInterface({
        input: new PassThrough(),
        output: term.out,
        prompt: "> ",
        terminal: true,
      });
      rememberCursorPos(rl);
      const state = lineState(rl);
      try {
        for (const o of ops) {
          switch (o.op) {
            case "append":
              state.line = state.line.slice(0, state.cursor) + o.text +
                state.line.slice(state.cursor);
              state.cursor += o.text.length;
              break;
            case "delete": {
              const from = Math.max(0, state.cursor - o.n);
              state.line = state.line.slice(0, from) + state.line.slice(state.cursor);
              state.cursor = from;
              break;
            }
            case "move":
              state.cursor = Math.min(o.to, state.line.length);
              break;
            case "prompt":
              rl.setPrompt(o.text);
              break;
            case "columns":
              term.out.columns = o.n;
              break;
          }
          assertEquals(rl.getCursorPos(), measure.call(rl), JSON.stringify(o));
        }
      } finally {
        rl.close();
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("rememberCursorPos: typing a long line measures only what each key adds", () => {
  const term = terminalOut(80);
  const rl = createInterface({
    input: new PassThrough(),
    output: term.out,
    prompt: "> ",
    terminal: true,
  });
  const measured: number[] = [];
  const measure = rl.getCursorPos.bind(rl);
  rl.getCursorPos = () => {
    measured.push(rl.cursor);
    return measure();
  };
  rememberCursorPos(rl);
  for (let i = 0; i < 2000; i++) rl.write("a");
  rl.write(null, { name: "backspace" });
  rl.write(null, { name: "left" });
  // readline's measure ran once (the first key); every later answer was moved along.
  assertEquals(measured, [1]);
  assertEquals(rl.getCursorPos(), { cols: (2 + 1998) % 80, rows: Math.floor(2000 / 80) });
  rl.close();
});
